"""Training on synthetic hospital records: m above u where fields agree, and twins kept apart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from empi.matching.compare import LEVELS
from empi.matching.link import classify
from empi.matching.record import Demographics, demographics
from empi.matching.score import score_pair, weight_of
from empi.matching.training import Parameters, parameters_train
from tests.empi.matching_people import two_hospitals


@pytest.fixture(scope="module")
def trained() -> tuple[Parameters, list[tuple[int, Demographics]], list[tuple[int, Demographics]]]:
    hospital_a, hospital_b = two_hospitals(1500, seed=7)
    params = parameters_train([r for _, r in hospital_a + hospital_b], seed=1, max_pairs=40_000)
    return params, hospital_a, hospital_b


def test_training_finds_agreement_more_likely_among_matches(trained) -> None:
    params = trained[0]
    assert params.m["sex"][0] > params.u["sex"][0]
    for field in ("given", "family", "birth_date", "street", "city", "postcode", "phone"):
        assert params.m[field][0] > 10 * params.u[field][0], field
        assert params.m[field][-1] < params.u[field][-1], field
        assert sum(params.m[field]) == pytest.approx(1.0)
        assert sum(params.u[field]) == pytest.approx(1.0)
        assert len(params.m[field]) == len(LEVELS[field])


def test_training_versions_its_parameters_and_estimates_a_small_prior(trained) -> None:
    params = trained[0]
    assert params.version and params.trained_at
    assert 1e-6 < params.prior < 1e-2
    assert params.term_frequencies["family"]


def test_trained_parameters_link_hospital_b_to_hospital_a(trained) -> None:
    params, hospital_a, hospital_b = trained
    threshold = weight_of(0.99, 1 / len(hospital_a))
    by_key = dict(hospital_a)
    linked = sum(score_pair(by_key[key], record, params).total >= threshold
                 for key, record in hospital_b)
    assert linked >= 0.9 * len(hospital_b)


def test_twins_do_not_auto_link(trained) -> None:
    params, hospital_a, _ = trained
    threshold = weight_of(0.99, 1 / len(hospital_a))
    twin = demographics(given="Mary", family="Jones", birth_date="19800101", sex="F",
                        street="1 High Street", city="Leeds", postcode="1234", phone="07700900001")
    sister = replace(twin, given="DEBORAH", phone="")
    score = score_pair(twin, sister, params)
    assert score.total < threshold
    assert classify(score, link_threshold=threshold, review_threshold=0) != "link"
    assert score.total < score_pair(twin, replace(twin, given="MARIE"), params).total
