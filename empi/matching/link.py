"""Deciding on a record's candidates: the best-scoring first, each classed link, review or new."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

import numpy as np

from empi.matching.batch import Batch
from empi.matching.record import Demographics
from empi.matching.score import Score, score_pair
from empi.matching.training import Parameters

K = TypeVar("K", bound=Hashable)

LINK = "link"
REVIEW = "review"
NEW = "new"


def classify(score: Score, *, link_threshold: float, review_threshold: float) -> str:
    """"link" at or above link_threshold, "review" at or above review_threshold, else "new"."""
    if score.total >= link_threshold:
        return LINK
    if score.total >= review_threshold:
        return REVIEW
    return NEW


def best_candidates(record: Demographics, candidates: Iterable[tuple[K, Demographics]],
                    params: Parameters, *, minimum: float | None = None,
                    limit: int | None = None) -> list[tuple[K, Score]]:
    """The candidates scored against the record, best first (ties keep the candidates' order).

    minimum drops candidates scoring below it; limit keeps only the first so many.
    """
    scored = [(key, score_pair(record, other, params)) for key, other in candidates]
    if minimum is not None:
        scored = [(key, s) for key, s in scored if s.total >= minimum]
    scored.sort(key=lambda item: -item[1].total)
    return scored if limit is None else scored[:limit]


# A feed leaves out a blocking key held by more records than this: a key that common says little
# of who the patient is, and scoring its block would take most of a feed's time. The batch link
# and training skip blocks of more than training.BLOCK_LIMIT (1,000); a feed, which must answer
# in milliseconds, stops at 300. In the synthetic million the keys left out are name_prefixes
# keys (the first letters of common given names and surnames); a record's true match still
# shares another key with it: blocking recall stayed 100% with limits from 1,000 down to 200
# (bench/README.md, "EMPI feed with a million records stored").
FEED_BLOCK_LIMIT = 300

# From this many candidates the vectorised scorer is the quicker: for one record against a feed's
# candidates at 1M records stored it took about 1.1 ms plus 6 us a candidate, score_pair about
# 12.5 us a candidate (bench/README.md, "EMPI feed with a million records stored").
BATCH_FROM = 150
# The batch scorer's totals agree with score_pair's to 1e-9 (tests/empi/test_matching_batch.py);
# candidates within this much of the best batch total are scored again with score_pair.
TIE = 1e-6


def candidate_totals(record: Demographics, candidates: Sequence[Demographics],
                     params: Parameters) -> list[float]:
    """score_pair(record, candidate).total of each candidate, to 1e-9: through the vectorised
    scorer when there are enough candidates to pay for it."""
    if len(candidates) < BATCH_FROM:
        return [score_pair(record, other, params).total for other in candidates]
    n = len(candidates)
    batch = Batch([record, *candidates], workers=1, one_to_many=True)
    totals = batch.scores(np.zeros(n, dtype=np.int64), np.arange(1, n + 1), params).totals
    return [float(t) for t in totals]


def best_exact(record: Demographics, candidates: Sequence[tuple[K, Demographics]],
               totals: Sequence[float], params: Parameters, *,
               keep: Callable[[K], bool] | None = None) -> tuple[K, Score] | None:
    """The candidate a stable sort by score_pair's total puts first, among those `keep` accepts,
    with its Score; `totals` are candidate_totals' of the candidates, in the same order.

    Only the candidates within TIE of the best of `totals` can be best by score_pair, so only
    they are scored again; of equal exact totals the earliest candidate wins.
    """
    kept = [k for k, (key, _) in enumerate(candidates) if keep is None or keep(key)]
    if not kept:
        return None
    top = max(totals[k] for k in kept)
    exact = [(candidates[k][0], score_pair(record, candidates[k][1], params))
             for k in kept if totals[k] >= top - TIE]
    return max(exact, key=lambda item: item[1].total)
