"""Deciding on a record's candidates: the best-scoring first, each classed link, review or new."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

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
