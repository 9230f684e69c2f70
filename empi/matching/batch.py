"""Scoring many candidate pairs at once: the levels and totals of compare + score_pair, vectorised.

Each field's values are numbered once (value -> code, "" is code 0: missing), so equality is an
integer comparison; what depends on one value alone (its phonetic code, its nickname forms, its
house number, its name frequency) is computed once per distinct value; string similarities of the
pairs left over run in rapidfuzz's C code (process.cpdist). The rare levels that read a whole
record (swapped names, other family names) go back to compare.py's own functions, for just the
pairs a cheap integer test says might reach them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rapidfuzz.process import cpdist

from empi.matching import compare as c
from empi.matching.record import Demographics
from empi.matching.score import (
    TF_FIELDS,
    TWIN_DATE_LEVELS,
    TWIN_FAMILY_LEVELS,
    TWIN_GIVEN_LEVELS,
    TWIN_NAME_RATIO,
)
from empi.matching.training import Parameters

MISSING = -1  # a level of None: a value missing on either side


@dataclass(frozen=True)
class Scores:
    """Per pair: the level of every field (columns in compare.FIELDS order) and the total weight."""

    levels: np.ndarray  # int8, pairs x fields, MISSING for None
    totals: np.ndarray  # float64


@dataclass(frozen=True)
class _Column:
    codes: np.ndarray  # int32 per record; 0 is the empty value
    values: np.ndarray  # object array: code -> value


def _column(values: Sequence[str]) -> _Column:
    index: dict[str, int] = {"": 0}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int32,
                        count=len(values))
    return _Column(codes, np.array(list(index), dtype=object))


class Batch:
    """Records prepared once for scoring any number of pairs among them."""

    def __init__(self, records: Sequence[Demographics], *, workers: int = -1,
                 one_to_many: bool = False) -> None:
        """`workers`: rapidfuzz's threads for string similarities, -1 for one per core; a feed's
        few hundred pairs take 1, threads costing more to start than they save. `one_to_many`:
        the pairs scored are one record against many, so the same pairs of values recur (a town,
        a given name) and each string similarity is computed once per distinct pair of values."""
        self.records = records
        self.workers = workers
        self.one_to_many = one_to_many
        # Given and family names share one numbering: the swapped-names test compares across them.
        names = _column([r.given for r in records] + [r.family for r in records])
        n = len(records)
        self.names = names
        self.given, self.family = names.codes[:n], names.codes[n:]
        self.phonetic = _column([c.phonetic(v) for v in names.values]).codes
        self.has_other = np.fromiter((bool(r.other_family) for r in records), dtype=bool, count=n)
        self.cols = {f: _column([getattr(r, f) for r in records])
                     for f in ("birth_date", "street", "city", "postcode", "phone", "national_id")}
        dates = self.cols["birth_date"].values
        self.year = np.array([int(d[:4]) if d else -1 for d in dates])
        self.month = np.array([int(d[4:6]) if d else -1 for d in dates])
        self.day = np.array([int(d[6:8]) if d else -1 for d in dates])
        numbers: dict[str, int] = {}
        self.house = np.array([numbers.setdefault(s.split(" ", 1)[0], len(numbers))
                               if s[:1].isdigit() else -1 for s in self.cols["street"].values])
        self.sex = np.fromiter(({"F": 0, "M": 1}.get(r.sex, -1) for r in records), dtype=np.int8,
                               count=n)
        self._nick: dict[tuple[int, int], bool] = {}

    def _similarity(self, column: _Column, a: np.ndarray, b: np.ndarray, scorer: Any,
                    score_cutoff: int | None = None) -> np.ndarray:
        if not len(a):
            return np.zeros(0)
        inverse = None
        if self.one_to_many:
            pairs, inverse = np.unique(a.astype(np.int64) * len(column.values) + b,
                                       return_inverse=True)
            a, b = pairs // len(column.values), pairs % len(column.values)
        found: np.ndarray = cpdist(column.values[a], column.values[b], scorer=scorer,
                                   score_cutoff=score_cutoff, workers=self.workers,
                                   dtype=np.float64)
        return found if inverse is None else found[inverse.ravel()]

    def _one_edit(self, column: _Column, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._similarity(column, a, b, DamerauLevenshtein.distance, score_cutoff=1) <= 1

    # -- levels ----------------------------------------------------------------------------------

    def levels(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Levels of the pairs (records[left[k]], records[right[k]]), as compare() gives them."""
        out = np.full((len(left), len(c.FIELDS)), MISSING, dtype=np.int8)
        ga, fa, gb, fb = self.given[left], self.family[left], self.given[right], self.family[right]
        swapped = self._swapped(left, right)
        crossed = (ga != gb) & (fa != fb) & (ga != fa) & (gb != fb) & ((ga == fb) | (fa == gb))
        out[:, 0] = self._name_level(ga, gb, swapped & (ga != gb), crossed, (ga, fb), nickname=True)
        family = self._name_level(fa, fb, swapped, crossed, (fa, gb), nickname=False)
        self._other_family(left, right, family, ~crossed)
        out[:, 1] = family
        out[:, 2] = self._date_level(self.cols["birth_date"].codes[left],
                                     self.cols["birth_date"].codes[right])
        sa, sb = self.sex[left], self.sex[right]
        out[:, 3] = np.where((sa < 0) | (sb < 0), MISSING, (sa != sb).astype(np.int8))
        out[:, 4] = self._street_level(left, right)
        out[:, 5] = self._text_level(self.cols["city"], left, right)
        for column, f in enumerate(("postcode", "phone", "national_id"), start=6):
            out[:, column] = self._code_level(self.cols[f], left, right)
        return out

    def _swapped(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        ga, fa, gb, fb = self.given[left], self.family[left], self.given[right], self.family[right]
        maybe = np.flatnonzero((ga != fa) & ((ga == fb) | (fa == gb)))
        found = np.zeros(len(left), dtype=bool)
        for k in maybe:
            found[k] = c._swapped(self.records[left[k]], self.records[right[k]])
        return found

    def _name_level(self, a: np.ndarray, b: np.ndarray, swapped: np.ndarray, crossed: np.ndarray,
                    across: tuple[np.ndarray, np.ndarray], *, nickname: bool) -> np.ndarray:
        """A name field's levels; `across` the names compared instead where the names crossed
        (compare._crossed): this record's name and the other's name of the other field."""
        level = np.full(len(a), MISSING, dtype=np.int8)
        present = (a != 0) & (b != 0)
        level[present & (a == b)] = 0
        level[present & (a != b) & swapped] = 1
        other = present & (a != b) & ~swapped
        cross = np.flatnonzero(other & crossed)
        cross_equal = across[0][cross] == across[1][cross]
        level[cross[cross_equal]] = 1
        cross = cross[~cross_equal]
        straight = np.flatnonzero(other & ~crossed)
        rest = np.concatenate((straight, cross))
        ra = np.concatenate((a[straight], across[0][cross]))
        rb = np.concatenate((b[straight], across[1][cross]))
        level[rest] = self._fuzzy(ra, rb, nickname=nickname)
        return level

    def _fuzzy(self, ra: np.ndarray, rb: np.ndarray, *, nickname: bool) -> np.ndarray:
        """compare._fuzzy_name of two different names: nickname, JW >= 0.92, phonetic, JW >= 0.80."""
        similarity = self._similarity(self.names, ra, rb, JaroWinkler.similarity)
        fuzzy = np.where(similarity >= 0.92, 3,
                         np.where(self.phonetic[ra] == self.phonetic[rb], 4,
                                  np.where(similarity >= 0.80, 5, 6))).astype(np.int8)
        if nickname and len(ra):
            fuzzy[self._nicknames(ra, rb)] = 2
        return fuzzy

    def _nicknames(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per pair of given names, whether they are one name in two forms (once per value pair)."""
        keys = a.astype(np.int64) * len(self.names.values) + b
        distinct, inverse = np.unique(keys, return_inverse=True)
        width = len(self.names.values)
        agree = np.fromiter((self._nickname(int(k // width), int(k % width)) for k in distinct),
                            dtype=bool, count=len(distinct))
        return agree[inverse]

    def _nickname(self, a: int, b: int) -> bool:
        if (a, b) not in self._nick:
            self._nick[a, b] = c.nicknames_agree(self.names.values[a], self.names.values[b])
        return self._nick[a, b]

    def _other_family(self, left: np.ndarray, right: np.ndarray, family: np.ndarray,
                      straight: np.ndarray) -> None:
        maybe = np.flatnonzero((family > 1) & straight
                               & (self.has_other[left] | self.has_other[right]))
        for k in maybe:
            a, b = self.records[left[k]], self.records[right[k]]
            if a.family in b.other_family or b.family in a.other_family:
                family[k] = 2

    def _date_level(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        level = np.full(len(a), MISSING, dtype=np.int8)
        present = (a != 0) & (b != 0)
        level[present & (a == b)] = 0
        rest = np.flatnonzero(present & (a != b))
        ra, rb = a[rest], b[rest]
        same_year = self.year[ra] == self.year[rb]
        swap = same_year & (self.month[ra] == self.day[rb]) & (self.day[ra] == self.month[rb])
        edit = self._one_edit(self.cols["birth_date"], ra, rb)
        level[rest] = np.where(swap, 1, np.where(edit, 2, np.where(same_year, 3, 4)))
        return level

    def _code_level(self, column: _Column, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        a, b = column.codes[left], column.codes[right]
        level = np.full(len(a), MISSING, dtype=np.int8)
        present = (a != 0) & (b != 0)
        level[present & (a == b)] = 0
        rest = np.flatnonzero(present & (a != b))
        level[rest] = np.where(self._one_edit(column, a[rest], b[rest]), 1, 2)
        return level

    def _text_level(self, column: _Column, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        a, b = column.codes[left], column.codes[right]
        level = np.full(len(a), MISSING, dtype=np.int8)
        present = (a != 0) & (b != 0)
        level[present & (a == b)] = 0
        rest = np.flatnonzero(present & (a != b))
        similarity = self._similarity(column, a[rest], b[rest], JaroWinkler.similarity)
        level[rest] = np.where(similarity >= 0.92, 1, np.where(similarity >= 0.80, 2, 3))
        return level

    def _street_level(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        level = self._text_level(self.cols["street"], left, right)
        a, b = self.cols["street"].codes[left], self.cols["street"].codes[right]
        far = level == 3
        same_house = (self.house[a] >= 0) & (self.house[a] == self.house[b])
        level[far] = np.where(same_house[far], 3, 4)
        return level

    # -- weights ---------------------------------------------------------------------------------

    def scores(self, left: np.ndarray, right: np.ndarray, params: Parameters) -> Scores:
        """Levels and totals, as score_pair(records[left[k]], records[right[k]], params) gives them."""
        left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
        levels = self.levels(left, right)
        totals = np.zeros(len(left))
        for column, f in enumerate(c.FIELDS):
            # math.log2 per table entry, as score_pair computes it: the same bits to the last one.
            table = np.array([math.log2(m / u) for m, u in zip(params.m[f], params.u[f],
                                                                strict=True)] + [0.0])
            weight = table[levels[:, column]]
            if f in TF_FIELDS:
                codes = (self.given if f == "given" else self.family)[left]
                exact = levels[:, column] == 0
                weight[exact] = self._tf_weights(f, params)[codes[exact]]
            totals += weight
        if params.twin_ceiling is not None:
            twins = ((totals > params.twin_ceiling)
                     & np.isin(levels[:, 0], list(TWIN_GIVEN_LEVELS))
                     & np.isin(levels[:, 2], list(TWIN_DATE_LEVELS))
                     & np.isin(levels[:, 1], list(TWIN_FAMILY_LEVELS))
                     & self._two_names(left, right, params))
            totals[twins] = params.twin_ceiling
        return Scores(levels=levels, totals=totals)

    def _two_names(self, left: np.ndarray, right: np.ndarray, params: Parameters) -> np.ndarray:
        """score._two_names: the given names are two established names, not one name mistyped."""
        ga, fa, gb, fb = self.given[left], self.family[left], self.given[right], self.family[right]
        crossed = (ga != gb) & (fa != fb) & (ga != fa) & (gb != fb) & ((ga == fb) | (fa == gb))
        share = np.array([params.term_frequency("given", v) for v in self.names.values])
        first, second = share[ga], share[np.where(crossed, fb, gb)]
        return np.asarray(np.minimum(first, second) >= TWIN_NAME_RATIO * np.maximum(first, second))

    def _tf_weights(self, field: str, params: Parameters) -> np.ndarray:
        """log2(m_exact / u) per name, u being the name's own frequency."""
        m = params.m[field][0]
        return np.array([math.log2(m / params.term_frequency(field, v)) if v else 0.0
                         for v in self.names.values])
