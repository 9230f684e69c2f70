"""Scoring a pair: log2(m/u) per field, term-frequency adjustment, missing values, probability."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from empi.matching.link import best_candidates, classify
from empi.matching.record import demographics
from empi.matching.score import match_probability, score_pair, weight_of
from empi.matching.training import Parameters, parameters_prior

ANNA = demographics(given="Anna", family="Jones", birth_date="19800101", sex="F",
                    street="1 High Street", city="Leeds", postcode="1234", phone="01134960000")


def test_a_weight_is_log2_of_m_over_u() -> None:
    params = parameters_prior()
    score = score_pair(ANNA, replace(ANNA, sex="M"), params)
    assert score.weights["sex"] == pytest.approx(math.log2(params.m["sex"][1] / params.u["sex"][1]))
    assert score.total == pytest.approx(sum(score.weights.values()))


def test_missing_values_weigh_nothing() -> None:
    score = score_pair(ANNA, replace(ANNA, phone="", street=""), parameters_prior())
    assert score.levels["phone"] is None and score.weights["phone"] == 0.0
    assert score.weights["street"] == 0.0


def test_a_rare_surname_outweighs_a_common_one() -> None:
    params = replace(parameters_prior(), term_frequencies={"family": {"SMITH": 0.01}},
                     rare_frequency={"family": 1e-5})
    common = demographics(given="Anna", family="Smith")
    rare = demographics(given="Anna", family="Zywiec")
    smith = score_pair(common, common, params).weights["family"]
    zywiec = score_pair(rare, rare, params).weights["family"]
    assert zywiec > smith
    assert smith == pytest.approx(math.log2(params.m["family"][0] / 0.01))


def test_the_same_person_scores_well_above_a_stranger() -> None:
    params = parameters_prior()
    stranger = demographics(given="Peter", family="Brown", birth_date="19551212", sex="M",
                            postcode="9876", phone="02079460000")
    assert score_pair(ANNA, ANNA, params).total > 20
    assert score_pair(ANNA, stranger, params).total < 0


def test_match_probability_adds_the_prior_and_inverts() -> None:
    assert match_probability(0.0, 0.5) == pytest.approx(0.5)
    assert match_probability(weight_of(0.99, 1e-4), 1e-4) == pytest.approx(0.99)
    assert match_probability(5000.0, 1e-4) == 1.0


def test_classify_uses_the_two_thresholds() -> None:
    score = score_pair(ANNA, ANNA, parameters_prior())
    assert classify(score, link_threshold=score.total, review_threshold=0) == "link"
    assert classify(score, link_threshold=score.total + 1, review_threshold=0) == "review"
    assert classify(score, link_threshold=1e9, review_threshold=1e9) == "new"


def test_best_candidates_come_best_first() -> None:
    params = parameters_prior()
    candidates = [("stranger", demographics(given="Peter", family="Brown")),
                  ("typo", replace(ANNA, given="Ana")), ("same", ANNA)]
    ranked = best_candidates(ANNA, candidates, params)
    assert [key for key, _ in ranked] == ["same", "typo", "stranger"]
    assert [key for key, _ in best_candidates(ANNA, candidates, params, limit=1)] == ["same"]


def test_parameters_round_trip_through_json() -> None:
    params = replace(parameters_prior(), term_frequencies={"family": {"SMITH": 0.01}},
                     rare_frequency={"family": 1e-5}, version="v1", trained_at="2026-01-01T00:00:00+00:00")
    again = Parameters.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params


def test_parameters_without_a_twin_ceiling_round_trip_through_json() -> None:
    params = replace(parameters_prior(), twin_ceiling=None)
    assert Parameters.from_dict(json.loads(json.dumps(params.to_dict()))).twin_ceiling is None


def _trained_names() -> Parameters:
    # SUSAN and MARY are names many records carry; SSSAN is carried by one record in 3,000 SUSANs.
    return replace(parameters_prior(), term_frequencies={"given": {"SUSAN": 0.03, "MARY": 0.02}},
                   rare_frequency={"given": 1e-5})


def test_a_twin_with_a_name_of_her_own_is_held_below_the_link_threshold() -> None:
    susan = demographics(given="Susan", family="Garanquin", birth_date="19750404", sex="F",
                         street="1 High Street", city="Leeds", postcode="1234", phone="01134960000")
    score = score_pair(susan, replace(susan, given="MARY"), _trained_names())
    assert "twins" in score.weights and score.total == pytest.approx(_trained_names().twin_ceiling)


def test_a_given_name_mistyped_into_a_rare_spelling_is_not_taken_for_a_twin() -> None:
    susan = demographics(given="Susan", family="Garanquin", birth_date="19750404", sex="F",
                         street="1 High Street", city="Leeds", postcode="1234", phone="01134960000")
    score = score_pair(susan, replace(susan, given="SSSAN"), _trained_names())
    assert "twins" not in score.weights and score.total > 20


def test_a_twin_registered_with_the_names_the_wrong_way_round_is_still_a_twin() -> None:
    # Mary's record with family and given swapped: her family name agrees with Susan's crosswise.
    susan = demographics(given="Susan", family="Garanquin", birth_date="19750404", sex="F",
                         street="1 High Street", city="Leeds", postcode="1234", phone="01134960000")
    mary_swapped = replace(susan, given="GARANQUIN", family="MARY")
    score = score_pair(susan, mary_swapped, _trained_names())
    assert (score.levels["family"], score.levels["given"]) == (1, 6)
    assert "twins" in score.weights
