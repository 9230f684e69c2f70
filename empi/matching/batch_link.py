"""Linking a whole load of records at once: blocking keys, candidate pairs, scores, persons.

Persons are the connected components of the graph of pairs at or above the link threshold, built
best pair first. A link that would put two records of one assigning authority on one person is
not made: a duplicate MRN within one source is a data steward's call, as on a feed
(services._match_new). Such a pair, like a pair in the review band, is proposed for review.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from empi.matching.batch import Batch, Scores
from empi.matching.blocking import blocking_keys
from empi.matching.record import Demographics
from empi.matching.training import BLOCK_LIMIT, Parameters

SLICE = 2_000_000  # candidate pairs scored at once


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs, left < right, each once; and what the block limit left out."""

    left: np.ndarray
    right: np.ndarray
    blocks_skipped: int  # blocks larger than the limit
    pairs_skipped: int  # the pairs those blocks hold (some of them are candidates through another key)


@dataclass(frozen=True)
class Linkage:
    person: np.ndarray  # per record, its person's number (0, 1, ... in order of first record)
    links: np.ndarray  # indices into the candidate pairs: the links that made the persons
    reviews: np.ndarray  # indices into the candidate pairs: the later record's best review pair
    candidates: Candidates
    scores: Scores
    seconds: dict[str, float] = field(default_factory=dict)  # blocking, scoring, clustering


def candidate_pairs(records: Sequence[Demographics], *, block_limit: int = BLOCK_LIMIT) -> Candidates:
    """Every pair of records sharing a blocking key in a block of at most block_limit records."""
    index: dict[str, int] = {}
    codes: list[int] = []
    owners: list[int] = []
    for i, record in enumerate(records):
        keys = blocking_keys(record)
        codes.extend(index.setdefault(key, len(index)) for key in keys)
        owners.extend([i] * len(keys))
    order = np.argsort(np.asarray(codes, dtype=np.int64), kind="stable")
    members = np.asarray(owners, dtype=np.int64)[order]  # by key, each block's records ascending
    sizes = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(index))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    large = sizes > block_limit
    lefts, rights = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for size in np.unique(sizes[(sizes > 1) & ~large]):
        block = members[starts[sizes == size][:, None] + np.arange(size)]
        upper, lower = np.triu_indices(int(size), 1)
        lefts.append(block[:, upper].ravel())
        rights.append(block[:, lower].ravel())
    left, right = np.concatenate(lefts), np.concatenate(rights)
    unique = np.unique(left * max(len(records), 1) + right)
    n = max(len(records), 1)
    big = sizes[large].astype(np.int64)
    return Candidates(left=unique // n, right=unique % n, blocks_skipped=int(large.sum()),
                      pairs_skipped=int((big * (big - 1) // 2).sum()))


def batch_link(records: Sequence[Demographics], authorities: Sequence[Hashable], params: Parameters,
               *, link_threshold: float, review_threshold: float,
               block_limit: int = BLOCK_LIMIT) -> Linkage:
    """The persons of a load of records, with the links that made them and the pairs for review.

    Pairs are scored later record first, as a feed of the file in order would score them.
    """
    started = time.perf_counter()
    candidates = candidate_pairs(records, block_limit=block_limit)
    blocked = time.perf_counter()
    scores = _scores(Batch(records), candidates, params)
    scored = time.perf_counter()
    person, links = _components(candidates, scores.totals, authorities, link_threshold)
    reviews = _reviews(candidates, scores.totals, person, review_threshold)
    done = time.perf_counter()
    return Linkage(person=person, links=links, reviews=reviews, candidates=candidates, scores=scores,
                   seconds={"blocking": blocked - started, "scoring": scored - blocked,
                            "clustering": done - scored})


def _scores(batch: Batch, candidates: Candidates, params: Parameters) -> Scores:
    # In slices: the per-pair temporaries of scoring take about 150 bytes a pair.
    parts = [batch.scores(candidates.right[k:k + SLICE], candidates.left[k:k + SLICE], params)
             for k in range(0, len(candidates.left), SLICE)]
    if not parts:
        return batch.scores(candidates.right, candidates.left, params)
    return Scores(levels=np.concatenate([p.levels for p in parts]),
                  totals=np.concatenate([p.totals for p in parts]))


def _components(candidates: Candidates, totals: np.ndarray, authorities: Sequence[Hashable],
                link_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    numbers: dict[Hashable, int] = {}
    # Each component's authorities as a bit set: a link joining two that share one is not made.
    held = [1 << numbers.setdefault(a, len(numbers)) for a in authorities]
    parent = list(range(len(authorities)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    above = np.flatnonzero(totals >= link_threshold)
    above = above[np.argsort(-totals[above], kind="stable")]
    made = []
    for k, i, j in zip(above.tolist(), candidates.left[above].tolist(),
                       candidates.right[above].tolist(), strict=True):
        ri, rj = root(i), root(j)
        if ri == rj or held[ri] & held[rj]:
            continue
        parent[rj] = ri
        held[ri] |= held[rj]
        made.append(k)
    roots = np.fromiter((root(x) for x in range(len(parent))), dtype=np.int64, count=len(parent))
    _, first, person = np.unique(roots, return_index=True, return_inverse=True)
    # Numbered in order of each person's first record.
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    return renumber[person], np.asarray(made, dtype=np.int64)


def _reviews(candidates: Candidates, totals: np.ndarray, person: np.ndarray,
             review_threshold: float) -> np.ndarray:
    """Per record, its best pair at or above the review threshold with a record of another
    person, the record being the later one of the pair (the one a feed in file order would match)."""
    open_ = np.flatnonzero((totals >= review_threshold)
                           & (person[candidates.left] != person[candidates.right]))
    order = open_[np.lexsort((-totals[open_], candidates.right[open_]))]
    _, first = np.unique(candidates.right[order], return_index=True)
    return np.sort(order[first])
