"""The match weight of a pair of records: Fellegi-Sunter log2(m/u) per field, summed.

A field at level l weighs log2(m_l / u_l): m_l is how often two records of one person agree that
far, u_l how often two records of different people do. Exact agreement on a name uses the name's
own frequency as u (term-frequency adjustment), so SMITH = SMITH weighs less than ZYWIEC = ZYWIEC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from empi.matching.compare import compare, crossed

if TYPE_CHECKING:
    from empi.matching.record import Demographics
    from empi.matching.training import Parameters

TF_FIELDS = ("given", "family")

# Two records that agree on family name and birth date (give or take a typo) but carry clearly
# different given names look like one person to independent field weights, and are twins as
# often as not. Their total is held at the parameters' twin ceiling: review at most, never a link.
TWIN_GIVEN_LEVELS = frozenset({5, 6})  # jw_0.80, else
TWIN_FAMILY_LEVELS = frozenset({0, 1, 2, 3, 4})  # exact, swapped, other_family, jw_0.92, phonetic
TWIN_DATE_LEVELS = frozenset({0, 1, 2})  # exact, day_month_swapped, dl_1
# A twin has a name of its own; a mistyped name is one that few records carry. Two given names
# are taken for two names when the rarer is carried by at least this share of the commoner's
# records: SUSAN and SSSAN (about 1 in 3,000) are one name mistyped, SUSAN and MARY two names.
TWIN_NAME_RATIO = 0.01


@dataclass(frozen=True)
class Score:
    total: float  # the sum of the weights, in bits (log2 of a likelihood ratio), prior excluded
    weights: dict[str, float]  # per field, plus "twins" when the twin ceiling applied
    levels: dict[str, int | None]  # per field; None: a value missing on either side


def score_pair(a: Demographics, b: Demographics, params: Parameters) -> Score:
    """How much more likely the pair's agreement pattern is for one person than for two."""
    levels = compare(a, b)
    weights: dict[str, float] = {}
    for field, level in levels.items():
        if level is None:
            weights[field] = 0.0
            continue
        m = params.m[field][level]
        u = params.u[field][level]
        if level == 0 and field in TF_FIELDS:
            u = params.term_frequency(field, getattr(a, field))
        weights[field] = math.log2(m / u)
    total = sum(weights.values())
    if (params.twin_ceiling is not None and total > params.twin_ceiling
            and levels["given"] in TWIN_GIVEN_LEVELS and levels["birth_date"] in TWIN_DATE_LEVELS
            and levels["family"] in TWIN_FAMILY_LEVELS and _two_names(a, b, params)):
        weights["twins"] = params.twin_ceiling - total
        total = params.twin_ceiling
    return Score(total=total, weights=weights, levels=levels)


def _two_names(a: Demographics, b: Demographics, params: Parameters) -> bool:
    """Whether the pair's given names are two established names rather than one name mistyped."""
    other = b.family if crossed(a, b) else b.given
    first, second = params.term_frequency("given", a.given), params.term_frequency("given", other)
    return min(first, second) >= TWIN_NAME_RATIO * max(first, second)


def match_probability(total: float, prior: float) -> float:
    """The posterior probability of a match from a pair's total weight and the prior P(match)."""
    bits = total + math.log2(prior / (1.0 - prior))
    if bits > 1000:
        return 1.0
    if bits < -1000:
        return 0.0
    return 1.0 / (1.0 + 2.0 ** -bits)


def weight_of(probability: float, prior: float) -> float:
    """The total weight at which a pair reaches this match probability (the inverse of the above)."""
    return math.log2(probability / (1.0 - probability)) - math.log2(prior / (1.0 - prior))
