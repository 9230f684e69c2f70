"""Relevant-prior rules: which of a patient's outside studies matter for a new order.

`relevant` is a pure function of the priors, the rules' values and the order; `rules_for` reads
the rules that apply to one ordering site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q

from imaging.prefetch.models import RelevantPriorRule
from imaging.prefetch.types import PriorStudy
from organisations.models import Organisation


@dataclass(frozen=True)
class RuleValues:
    """One rule as plain values; empty sets match anything."""

    name: str
    order_modalities: frozenset[str]  # DICOM Modality (0008,0060) codes of the order
    prior_modalities: frozenset[str]
    body_parts: frozenset[str]  # Body Part Examined (0018,0015)
    lookback_days: int
    max_priors: int


def rules_for(organisation: Organisation) -> list[RuleValues]:
    """The active rules for orders from `organisation`: its own and those for every site."""
    rows = RelevantPriorRule.objects.filter(
        Q(ordering_organisation__isnull=True) | Q(ordering_organisation=organisation), active=True)
    return [RuleValues(name=r.name, order_modalities=_codes(r.order_modalities),
                       prior_modalities=_codes(r.prior_modalities), body_parts=_codes(r.body_parts),
                       lookback_days=r.lookback_days, max_priors=r.max_priors)
            for r in rows.order_by("name", "pk")]


def relevant(priors: Sequence[PriorStudy], rules: Sequence[RuleValues], *, order_modality: str,
             today: date) -> list[PriorStudy]:
    """The priors some applicable rule selects, in the order given (newest first).

    A rule applies when it names no order modality or the order's. Each picks at most
    `max_priors` of the newest priors that pass it; the result is their union. With no rules
    configured at all, every prior is relevant: a site that set none has asked for no filter.
    """
    if not rules:
        return list(priors)
    modality = order_modality.strip().upper()
    newest_first = sorted(priors, key=lambda p: p.study_date, reverse=True)
    chosen: set[str] = set()
    for rule in rules:
        if rule.order_modalities and modality not in rule.order_modalities:
            continue
        passing = [p for p in newest_first if _passes(p, rule, today)]
        chosen.update(p.study_instance_uid for p in passing[:rule.max_priors])
    return [p for p in priors if p.study_instance_uid in chosen]


def _passes(prior: PriorStudy, rule: RuleValues, today: date) -> bool:
    if rule.prior_modalities and not rule.prior_modalities & {m.upper() for m in prior.modalities}:
        return False
    # A prior whose body part no source told passes only a rule that asks for none.
    if rule.body_parts and prior.body_part.upper() not in rule.body_parts:
        return False
    taken = _date(prior.study_date)
    # A study without a date cannot be shown to lie in the window.
    return taken is not None and taken >= today - timedelta(days=rule.lookback_days)


def _date(value: str) -> date | None:
    """DA (PS3.5 6.2): YYYYMMDD."""
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (TypeError, ValueError):
        return None


def _codes(text: str) -> frozenset[str]:
    return frozenset(code.upper() for code in text.split())
