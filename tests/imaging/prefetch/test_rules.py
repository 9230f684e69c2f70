"""Relevant-prior rules: which of the patient's outside studies an order brings."""

from __future__ import annotations

from datetime import date

import pytest

from imaging.prefetch.models import RelevantPriorRule
from imaging.prefetch.rules import RuleValues, relevant, rules_for
from imaging.prefetch.types import PriorStudy
from organisations.models import Organisation

TODAY = date(2025, 6, 1)


def prior(uid: str, *, study_date: str = "20250101", modalities: tuple[str, ...] = ("CT",),
          body_part: str = "CHEST") -> PriorStudy:
    return PriorStudy(study_instance_uid=uid, study_date=study_date, modalities=modalities,
                      description="", body_part=body_part, site_id=1, site_name="Hospital A",
                      source_id=1, instances=10)


def rule(*, order: str = "", priors: str = "", body_parts: str = "", lookback_days: int = 3650,
         max_priors: int = 10) -> RuleValues:
    return RuleValues(name="rule", order_modalities=frozenset(order.split()),
                      prior_modalities=frozenset(priors.split()), body_parts=frozenset(body_parts.split()),
                      lookback_days=lookback_days, max_priors=max_priors)


def uids(found: list[PriorStudy]) -> list[str]:
    return [p.study_instance_uid for p in found]


def test_with_no_rules_every_prior_is_relevant() -> None:
    found = [prior("1"), prior("2", modalities=("US",), body_part="")]

    assert relevant(found, [], order_modality="CT", today=TODAY) == found


def test_a_rule_selects_priors_of_its_modalities() -> None:
    found = [prior("ct"), prior("mr", modalities=("MR",)), prior("ct-sr", modalities=("CT", "SR"))]

    assert uids(relevant(found, [rule(priors="CT")], order_modality="CT", today=TODAY)) == ["ct", "ct-sr"]


def test_a_rule_applies_only_to_orders_of_its_modalities() -> None:
    found = [prior("ct")]

    assert relevant(found, [rule(order="MR")], order_modality="CT", today=TODAY) == []
    assert uids(relevant(found, [rule(order="MR CT")], order_modality="ct", today=TODAY)) == ["ct"]


def test_a_rule_selects_priors_of_its_body_parts_and_an_unknown_body_part_only_without_any() -> None:
    found = [prior("chest"), prior("knee", body_part="KNEE"), prior("unknown", body_part="")]

    assert uids(relevant(found, [rule(body_parts="CHEST ABDOMEN")], order_modality="CT",
                         today=TODAY)) == ["chest"]
    assert uids(relevant(found, [rule()], order_modality="CT", today=TODAY)) == ["chest", "knee", "unknown"]


def test_priors_older_than_the_look_back_window_are_left_out() -> None:
    found = [prior("recent", study_date="20250501"), prior("old", study_date="20200101"),
             prior("undated", study_date="")]

    assert uids(relevant(found, [rule(lookback_days=365)], order_modality="CT", today=TODAY)) == ["recent"]


def test_a_rule_takes_at_most_its_number_of_the_newest_priors() -> None:
    found = [prior("2023", study_date="20230101"), prior("2025", study_date="20250101"),
             prior("2024", study_date="20240101")]

    assert uids(relevant(found, [rule(max_priors=2)], order_modality="CT", today=TODAY)) == ["2025", "2024"]


def test_the_priors_of_several_applicable_rules_are_united() -> None:
    found = [prior("ct", study_date="20250102"), prior("ct-old", study_date="20240101"),
             prior("xr", modalities=("CR",), study_date="20230101")]
    rules = [rule(priors="CT", max_priors=1), rule(priors="CR", max_priors=1), rule(order="MR")]

    assert uids(relevant(found, rules, order_modality="CT", today=TODAY)) == ["ct", "xr"]


@pytest.mark.django_db
def test_a_site_gets_its_own_rules_and_those_for_every_site() -> None:
    hospital_a = Organisation.objects.create(code="hospa", name="Hospital A")
    hospital_b = Organisation.objects.create(code="hospb", name="Hospital B")
    RelevantPriorRule.objects.create(name="every site", prior_modalities="CT")
    RelevantPriorRule.objects.create(name="chest at B", ordering_organisation=hospital_b,
                                     order_modalities="CT CR", body_parts="chest", max_priors=2)
    RelevantPriorRule.objects.create(name="knees at A", ordering_organisation=hospital_a)
    RelevantPriorRule.objects.create(name="retired", active=False)

    (chest, every) = rules_for(hospital_b)

    assert [r.name for r in (chest, every)] == ["chest at B", "every site"]
    assert (chest.order_modalities, chest.body_parts, chest.max_priors) == (
        frozenset({"CT", "CR"}), frozenset({"CHEST"}), 2)
    assert [r.name for r in rules_for(hospital_a)] == ["every site", "knees at A"]
