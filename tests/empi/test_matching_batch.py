"""The vectorised scorer gives score_pair's levels and totals, pair by pair."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from empi.matching.batch import MISSING, Batch
from empi.matching.blocking import blocking_keys
from empi.matching.compare import FIELDS
from empi.matching.record import Demographics, demographics
from empi.matching.score import score_pair
from empi.matching.training import Parameters, parameters_prior, parameters_train
from tests.empi.matching_people import two_hospitals

# The corner cases of test_matching_compare.py, each as a pair of records.
CORNERS = [
    (demographics(given="William", family="Smith"), demographics(given="William", family="Smith")),
    (demographics(given="William"), demographics(given="Bill")),
    (demographics(given="Billy"), demographics(given="William")),
    (demographics(given="Margaret"), demographics(given="Margaert")),
    (demographics(family="Philips"), demographics(family="Fylyps")),
    (demographics(given="Mary"), demographics(given="Deborah")),
    (demographics(given="Chen", family="Wei"), demographics(given="Wei", family="Chen")),
    (demographics(given="Anna", family="Jones"),
     demographics(given="Anna", family="Harris", other_family=("Jones",))),
    (demographics(given="Anna", family="Harris", other_family=("Jones",)),
     demographics(given="Anna", family="Jones")),
    (demographics(given="Daniel", family="Ang"), demographics(given="Ang", family="Danile")),
    (demographics(given="Ang", family="Ang"), demographics(given="Ang", family="Bo")),
    # Names crossed: one name in the other's field, the other name changed or missing.
    (demographics(given="Judith", family="Ulber"), demographics(given="Ueber", family="Judith")),
    (demographics(given="Judith", family="Ulber"), demographics(given="Ulber")),
    (demographics(given="Bill", family="Jones"), demographics(given="Jones", family="William")),
    (demographics(given="Ann", family="Bill"), demographics(given="William", family="Ann")),
    (demographics(street="12 High Street"), demographics(street="12 Kilburnie")),
    (demographics(street="12 High Street"), demographics(street="40 Kilburnie")),
    (demographics(street="High Street"), demographics(street="Kilburnie")),
    (demographics(sex="F"), demographics(sex="M")),
    (demographics(sex="U"), demographics(sex="M")),
    (demographics(given="Anna", family="Jones", birth_date="19800101", sex="F", street="1 Elm",
                  city="Ashford", postcode="1234", phone="0712345678", national_id="123456789"),
     demographics()),
    *[(demographics(birth_date=a), demographics(birth_date=b)) for a, b in (
        ("19800102", "19800102"), ("19800102", "19800201"), ("19800102", "19800103"),
        ("19800102", "19801002"), ("19800102", "19900102"), ("19800102", "18000102"),
        ("19800102", "19800120"))],
    *[(demographics(postcode=a, phone=a, national_id=a), demographics(postcode=b, phone=b,
                                                                        national_id=b))
      for a, b in (("12345", "12345"), ("12345", "12354"), ("12345", "12355"),
                   ("12345", "1234"), ("12345", "99999"))],
]


def candidate_pairs(records: list[Demographics]) -> list[tuple[int, int]]:
    by_key: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        for key in blocking_keys(record):
            by_key.setdefault(key, []).append(i)
    return sorted({(i, j) for members in by_key.values() if len(members) <= 50
                   for x, i in enumerate(members) for j in members[x + 1:]})


def assert_same_as_score_pair(records: list[Demographics], pairs: list[tuple[int, int]],
                              params: Parameters) -> None:
    left, right = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    scores = Batch(records).scores(left, right, params)
    for k, (i, j) in enumerate(pairs):
        expected = score_pair(records[i], records[j], params)
        levels = [MISSING if expected.levels[f] is None else expected.levels[f] for f in FIELDS]
        assert scores.levels[k].tolist() == levels, (records[i], records[j])
        assert scores.totals[k] == pytest.approx(expected.total, abs=1e-9), (records[i], records[j])


def test_the_corner_cases_score_as_score_pair_scores_them_both_ways_round() -> None:
    records = [record for pair in CORNERS for record in pair]
    pairs = [(k, k + 1) for k in range(0, len(records), 2)]
    pairs += [(j, i) for i, j in pairs]
    assert_same_as_score_pair(records, pairs, parameters_prior())


def test_synthetic_candidate_pairs_score_as_score_pair_scores_them_with_trained_parameters() -> None:
    a, b = two_hospitals(2_500, seed=7)
    records = [r for _, r in a] + [r for _, r in b]
    pairs = candidate_pairs(records)
    assert len(pairs) > 3_000
    params = parameters_train(records, max_pairs=20_000)
    assert_same_as_score_pair(records, pairs, params)
    assert_same_as_score_pair(records, [(j, i) for i, j in pairs], replace(params, twin_ceiling=None))


def test_random_pairs_score_as_score_pair_scores_them() -> None:
    a, b = two_hospitals(500, seed=3)
    records = [r for _, r in a] + [r for _, r in b]
    rng = random.Random(1)
    pairs = [(rng.randrange(len(records)), rng.randrange(len(records))) for _ in range(3_000)]
    assert_same_as_score_pair(records, pairs, parameters_prior())


def test_no_pairs_give_no_scores() -> None:
    scores = Batch([demographics(given="Anna")]).scores(np.array([], dtype=int),
                                                        np.array([], dtype=int), parameters_prior())
    assert scores.levels.shape == (0, len(FIELDS)) and len(scores.totals) == 0
