"""A feed decides as score_pair on every blocked candidate would: the vectorised totals only
choose which few candidates score_pair scores again. Keys held by too many records are left out."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable

import pytest

from empi import selectors, services
from empi.matching.blocking import blocking_keys
from empi.matching.link import BATCH_FROM, best_exact, candidate_totals
from empi.matching.record import Demographics, demographics
from empi.matching.score import Score, score_pair
from empi.matching.training import Parameters, parameters_prior, parameters_train
from empi.models import BlockingKey, PatientRecord
from tests.empi.conftest import Domain
from tests.empi.matching_people import two_hospitals


def reference_best(record: Demographics, candidates: list[tuple[int, Demographics]],
                   params: Parameters, keep: Callable[[int], bool] | None = None
                   ) -> tuple[int, Score] | None:
    """What the feed did before: score_pair on every candidate, a stable sort best first."""
    scored = [(key, score_pair(record, other, params)) for key, other in candidates
              if keep is None or keep(key)]
    scored.sort(key=lambda item: item[1].total, reverse=True)
    return scored[0] if scored else None


def blocked(records: list[Demographics]) -> dict[str, list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        for key in blocking_keys(r):
            by_key[key].append(i)
    return by_key


@pytest.mark.parametrize("trained", [False, True])
def test_the_fast_path_picks_score_pairs_best_candidate_with_its_total(trained: bool) -> None:
    a, b = two_hospitals(300, seed=11)
    stored = [r for _, r in a]
    params = parameters_train(stored + [r for _, r in b]) if trained else parameters_prior()
    by_key = blocked(stored)
    rng = random.Random(5)
    batched = 0
    for _, record in b:
        found = sorted({i for key in blocking_keys(record) for i in by_key.get(key, ())})
        # Strangers besides, so that the vectorised scorer runs as well as score_pair.
        found = sorted(set(found) | set(rng.sample(range(len(stored)), rng.choice((0, 5, BATCH_FROM + 10)))))
        candidates = [(i, stored[i]) for i in found]
        totals = candidate_totals(record, [r for _, r in candidates], params)
        batched += len(candidates) >= BATCH_FROM
        for keep in (None, lambda i: i % 3 != 0):
            expected = reference_best(record, candidates, params, keep)
            got = best_exact(record, candidates, totals, params, keep=keep)
            if expected is None:
                assert got is None
                continue
            assert got is not None
            assert got[0] == expected[0], record
            assert got[1].total == pytest.approx(expected[1].total, abs=1e-9)
            assert got[1].weights == expected[1].weights
    assert 50 < batched < len(b)


def test_candidate_totals_are_score_pairs_to_1e_9_on_both_paths() -> None:
    a, _ = two_hospitals(BATCH_FROM + 100, seed=3)
    records = [r for _, r in a]
    params = parameters_prior()
    for count in (1, BATCH_FROM - 1, BATCH_FROM, BATCH_FROM + 40):
        totals = candidate_totals(records[0], records[1:count + 1], params)
        assert totals == pytest.approx([score_pair(records[0], o, params).total
                                        for o in records[1:count + 1]], abs=1e-9)


def test_equal_totals_go_to_the_earliest_candidate() -> None:
    anna = demographics(given="Anna", family="Jones", birth_date="19800101", postcode="1234")
    candidates = [(k, anna) for k in (7, 3, 9)] * BATCH_FROM  # one total; the batch path
    params = parameters_prior()
    totals = candidate_totals(anna, [r for _, r in candidates], params)
    found = best_exact(anna, candidates, totals, params)
    assert found is not None and found[0] == 7
    found = best_exact(anna, candidates, totals, params, keep=lambda k: k != 7)
    assert found is not None and found[0] == 3
    assert best_exact(anna, candidates, totals, params, keep=lambda k: False) is None


# -- through the database ----------------------------------------------------------------------

def _feed(domain: Domain, authority: str, mrn: str, who: Demographics) -> services.FeedResult:
    return services.record_feed(authority=getattr(domain, authority), identifier=mrn,
                                demographics=who, raw={}, source="test")


def _predicted(domain: Domain, record: Demographics) -> tuple[str, int | None]:
    """The outcome and person of feeding `record` at hospital B, by score_pair on every record
    sharing a key (no limit), as services._match_new decided before the fast path."""
    rows = (PatientRecord.objects.select_related("person")
            .filter(merged_into__isnull=True, blocking_keys__key__in=sorted(blocking_keys(record)))
            .distinct().order_by("pk"))
    params = services.parameters_active()
    by_pk = {r.pk: r for r in rows}
    candidates = [(pk, r.demographics()) for pk, r in by_pk.items()]
    linkable = reference_best(record, candidates, params,
                              lambda pk: by_pk[pk].authority_id != domain.hospital_b.pk)
    if linkable is not None and services._classify(linkable[1]) == "link":
        return "linked", by_pk[linkable[0]].person_id
    return "new", None


@pytest.mark.django_db
def test_feeds_link_as_score_pair_on_every_candidate_would(domain: Domain) -> None:
    a, b = two_hospitals(250, seed=23)
    for key, record in a:
        _feed(domain, "hospital_a", f"A{key}", record)
    outcomes = set()
    for key, record in b:
        outcome, person = _predicted(domain, record)
        result = _feed(domain, "hospital_b", f"B{key}", record)
        assert result.outcome == outcome, record
        if person is not None:
            assert result.person.pk == person
        outcomes.add(outcome)
    assert outcomes == {"linked", "new"}


@pytest.mark.django_db
def test_a_key_held_by_more_records_than_the_limit_finds_no_candidates(domain: Domain) -> None:
    # Five Annas born the same day at other addresses: birth_date and initial_dob hold all five.
    for n in range(5):
        _feed(domain, "hospital_a", f"A{n}", demographics(
            given="Anna", family=f"Family{'xyzvw'[n]}", birth_date="19800101",
            postcode=f"{1000 + n}", street=f"{n + 1} Elm Street", city="Ashford"))
    jones = _feed(domain, "hospital_a", "A9", demographics(
        given="Anna", family="Jones", birth_date="19800101", postcode="2000", city="Bristol",
        other_family=("Smith", "Brown")))
    keys = blocking_keys(demographics(given="Anna", family="Jones", birth_date="19800101"))
    assert BlockingKey.objects.filter(key="birth_date:19800101").count() == 6
    assert len(selectors.match_candidates(keys)) == 6
    assert len(selectors.match_candidates(keys, block_limit=6)) == 6
    # Over the limit, the date keys go; the names still find Anna Jones.
    found = selectors.match_candidates(keys, block_limit=5)
    assert [c.pk for c in found] == [jones.record.pk]
    assert found[0].demographics == jones.record.demographics()
