"""Parameters of the matcher and their training: u from random pairs, m by EM per blocking rule.

One EM over all candidate pairs at once collapses when no field identifies a person on its own: it
finds "same household" or "same birth date" instead of "same person". Each blocking rule's pairs
are therefore fitted on their own, with only the fields the rule does not read, and the rules' m
estimates of a field are averaged. u stays fixed at its random-pair estimate during EM (as in
Splink's training); the prior comes last, from the fitted model's posteriors over all candidates.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from empi.matching.blocking import RULES, rule_keys
from empi.matching.compare import FIELDS, LEVELS, compare
from empi.matching.record import Demographics

FORMAT = 1
TWIN_CEILING = 8.0  # bits: see score.py; below any sensible link threshold
TF_MAX_VALUES = 100_000  # the most frequent names kept per field; the rest weigh as rare names
BLOCK_LIMIT = 1_000  # training skips larger blocks: their pairs are almost all non-matches
EM_ITERATIONS = 30
SMOOTHING = 1e-6  # keeps every m and u above zero, so every log2(m/u) is finite


@dataclass
class Parameters:
    """m and u per field level, name frequencies, the prior P(match) of a random pair; versioned."""

    m: dict[str, list[float]]  # field -> P(level | same person), one per level of compare.LEVELS
    u: dict[str, list[float]]  # field -> P(level | different people)
    prior: float
    version: str
    trained_at: str  # ISO 8601, UTC; "" for the priors
    # field -> value -> share of the records with that value (given and family names).
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)
    # field -> the share assumed for a value not in term_frequencies (a rare name).
    rare_frequency: dict[str, float] = field(default_factory=dict)
    # The most a pair with the twin pattern scores (see score.py); None: no ceiling.
    twin_ceiling: float | None = TWIN_CEILING

    def term_frequency(self, field_name: str, value: str) -> float:
        """u of exact agreement on this value: its frequency, or the average u without a table."""
        table = self.term_frequencies.get(field_name)
        if not table:
            return self.u[field_name][0]
        return table.get(value, self.rare_frequency.get(field_name, self.u[field_name][0]))

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": self.version, "trained_at": self.trained_at,
                "prior": self.prior, "twin_ceiling": self.twin_ceiling,
                "m": self.m, "u": self.u, "term_frequencies": self.term_frequencies,
                "rare_frequency": self.rare_frequency}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Parameters:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown parameters format {data.get('format')!r}")
        return cls(m={k: [float(x) for x in v] for k, v in data["m"].items()},
                   u={k: [float(x) for x in v] for k, v in data["u"].items()},
                   prior=float(data["prior"]), version=str(data["version"]),
                   trained_at=str(data["trained_at"]),
                   term_frequencies={k: {n: float(f) for n, f in v.items()}
                                     for k, v in data.get("term_frequencies", {}).items()},
                   rare_frequency={k: float(v) for k, v in data.get("rare_frequency", {}).items()},
                   twin_ceiling=None if data.get("twin_ceiling", TWIN_CEILING) is None
                   else float(data.get("twin_ceiling", TWIN_CEILING)))


def parameters_prior() -> Parameters:
    """The parameters a node uses before its first training run.

    None of these numbers is measured; each follows from a stated assumption, so that a fresh
    node with two records links the obvious pairs and nothing else. The model is Fellegi and
    Sunter's ("A theory for record linkage", JASA 64, 1969): weight = log2(m/u).

    u, the chance that two different people agree that far on a field:
    - birth dates spread evenly over about 90 birth years (365.25 x 90 = 32,873 dates), so exact
      agreement is 1/32,873; about 12 other dates are one edit away; a day/month swap hits 1 in
      365 x 90; the same year is 1/90;
    - names: if the most common surnames each cover about 1% of people, the sum of squared shares
      (the chance two strangers share a surname) is near 0.003; given names are less spread out
      (0.01); the fuzzy levels catch a few strangers more;
    - sex: F and M about equally often; postcodes: about 1,000 in use; phones and national IDs
      unique per person, with about 10 (phones) or 60 (9-digit IDs) values one edit away that
      belong to someone else;
    - streets and cities: 1/2,000 and 1/200 exact, a little more for the fuzzy levels.

    m, the chance that two registrations of one person agree that far: an assumed error rate of
    a few percent per identifying field, spread over its partial-agreement levels, and more for
    what changes over a life (address, phone). Training replaces all of these with estimates
    from the node's own records.
    """
    m = {
        "given": [0.88, 0.005, 0.02, 0.04, 0.015, 0.02, 0.02],
        "family": [0.88, 0.005, 0.02, 0.04, 0.015, 0.02, 0.02],
        "birth_date": [0.95, 0.01, 0.025, 0.01, 0.005],
        "sex": [0.98, 0.02],
        "street": [0.75, 0.05, 0.05, 0.02, 0.13],
        "city": [0.85, 0.03, 0.02, 0.10],
        "postcode": [0.80, 0.03, 0.17],
        "phone": [0.70, 0.05, 0.25],
        "national_id": [0.97, 0.02, 0.01],
    }
    u = {
        "given": [0.01, 0.00001, 0.002, 0.002, 0.003, 0.01],
        "family": [0.003, 0.00001, 0.00001, 0.001, 0.002, 0.01],
        "birth_date": [1 / 32_873, 1 / 365 / 90, 12 / 32_873, 1 / 90],
        "sex": [0.5],
        "street": [1 / 2_000, 0.001, 0.01, 0.005],
        "city": [1 / 200, 0.002, 0.02],
        "postcode": [1 / 1_000, 0.01],
        "phone": [1e-7, 1e-6],
        "national_id": [1e-9, 6e-8],
    }
    # The last level ("else") takes what the other levels leave.
    full_u = {f: [*levels, 1.0 - sum(levels)] for f, levels in u.items()}
    return Parameters(m=m, u=full_u, prior=1e-4, version="prior", trained_at="")


def parameters_train(records: Sequence[Demographics], *, seed: int = 0,
                     max_pairs: int = 300_000) -> Parameters:
    """Parameters trained on these records (no labels needed).

    u: the level shares of max_pairs random pairs. m: EM per blocking rule over up to a tenth of
    max_pairs of that rule's candidate pairs, fields of the rule excluded, then averaged per field.
    """
    rng = random.Random(seed)  # noqa: S311  (sampling pairs, not secrets)
    prior = parameters_prior()
    n = len(records)
    u = _estimate_u(records, rng=rng, max_pairs=max_pairs, prior=prior)
    pairs, rates, keys = _candidate_pairs(records, rng=rng, max_pairs=max(1_000, max_pairs // 10))
    everything = sorted(set().union(*pairs.values())) if pairs else []
    matrix = _levels_matrix(records, everything)
    row = {pair: i for i, pair in enumerate(everything)}
    estimates: dict[str, list[np.ndarray]] = defaultdict(list)
    for rule, rule_pairs in pairs.items():
        if len(rule_pairs) < 10:
            continue
        fields = [f for f in FIELDS if f not in RULES[rule]]
        rows = matrix[[row[p] for p in sorted(rule_pairs)]]
        m, _ = _em(rows, fields, {f: np.array(prior.m[f]) for f in fields}, u)
        for f in fields:
            if (rows[:, FIELDS.index(f)] >= 0).sum() >= 10:
                estimates[f].append(m[f])
    m_final = {f: _normalise(np.mean(estimates[f], axis=0)) if estimates[f]
               else list(prior.m[f]) for f in FIELDS}
    frequencies, rare = _term_frequencies(records)
    params = Parameters(m=m_final, u={f: list(map(float, v)) for f, v in u.items()},
                        prior=prior.prior, version="", trained_at="",
                        term_frequencies=frequencies, rare_frequency=rare)
    params.prior = _estimate_prior(matrix, _inclusion(everything, rates, keys), params, n)
    now = datetime.now(UTC)
    params.trained_at = now.isoformat(timespec="seconds")
    params.version = now.strftime("%Y%m%dT%H%M%SZ") + f"-n{n}"
    return params


def _normalise(values: Iterable[float]) -> list[float]:
    array = np.asarray(list(values), dtype=float) + SMOOTHING
    return [float(x) for x in array / array.sum()]


def _estimate_u(records: Sequence[Demographics], *, rng: random.Random, max_pairs: int,
                prior: Parameters) -> dict[str, np.ndarray]:
    n = len(records)
    counts = {f: np.zeros(len(LEVELS[f])) for f in FIELDS}
    if n >= 2:
        for _ in range(max_pairs):
            i, j = rng.randrange(n), rng.randrange(n - 1)
            j += j >= i
            for f, level in compare(records[i], records[j]).items():
                if level is not None:
                    counts[f][level] += 1
    u: dict[str, np.ndarray] = {}
    for f in FIELDS:
        # The prior's u counts as 10 pseudo-pairs: a level no random pair reached stays plausible.
        smoothed = counts[f] + 10 * np.asarray(prior.u[f])
        u[f] = np.asarray(_normalise(smoothed / smoothed.sum()))
    return u


def _candidate_pairs(records: Sequence[Demographics], *, rng: random.Random, max_pairs: int
                     ) -> tuple[dict[str, set[tuple[int, int]]], dict[str, float], list[dict[str, str]]]:
    """Each rule's candidate pairs (at most about max_pairs, sampled), its sampling rate, and
    every record's keys."""
    keys = [rule_keys(record) for record in records]
    blocks: dict[str, dict[str, list[int]]] = {rule: defaultdict(list) for rule in RULES}
    for index, by_rule in enumerate(keys):
        for rule, key in by_rule.items():
            blocks[rule][key].append(index)
    pairs: dict[str, set[tuple[int, int]]] = {}
    rates: dict[str, float] = {}
    for rule, by_key in blocks.items():
        members = [m for m in by_key.values() if 1 < len(m) <= BLOCK_LIMIT]
        total = sum(len(m) * (len(m) - 1) // 2 for m in members)
        rate = rates[rule] = min(1.0, max_pairs / total) if total else 1.0
        found: set[tuple[int, int]] = set()
        for group in members:
            for x in range(len(group)):
                for y in range(x + 1, len(group)):
                    if rate >= 1.0 or rng.random() < rate:
                        found.add((group[x], group[y]))
        if found:
            pairs[rule] = found
    return pairs, rates, keys


def _inclusion(pairs: Sequence[tuple[int, int]], rates: dict[str, float],
               keys: list[dict[str, str]]) -> np.ndarray:
    """The chance each pair had to be sampled by at least one of the rules it shares a key in."""
    out = np.ones(len(pairs))
    for r, (i, j) in enumerate(pairs):
        missed = 1.0
        for rule, key in keys[i].items():
            if keys[j].get(rule) == key:
                missed *= 1.0 - rates[rule]
        out[r] = max(1.0 - missed, 1e-9)
    return out


def _levels_matrix(records: Sequence[Demographics], pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """One row per pair, one column per field: the level, or -1 where a value is missing."""
    matrix = np.full((len(pairs), len(FIELDS)), -1, dtype=np.int8)
    for r, (i, j) in enumerate(pairs):
        for c, level in enumerate(compare(records[i], records[j]).values()):
            if level is not None:
                matrix[r, c] = level
    return matrix


def _log_ratios(rows: np.ndarray, fields: Sequence[str], m: dict[str, np.ndarray],
                u: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros(len(rows))
    for f in fields:
        column = rows[:, FIELDS.index(f)]
        table = np.append(np.log2(m[f] / u[f]), 0.0)  # index -1 (missing) weighs 0
        total += table[column]
    return total


def _em(rows: np.ndarray, fields: Sequence[str], m: dict[str, np.ndarray],
        u: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float]:
    """m of the fields, and the share of matches, fitted to one rule's pairs with u held fixed."""
    lam = 0.5
    m = {f: np.asarray(_normalise(v)) for f, v in m.items()}
    for _ in range(EM_ITERATIONS):
        bits = _log_ratios(rows, fields, m, u) + math.log2(lam / (1 - lam))
        posterior = 1.0 / (1.0 + np.exp2(-np.clip(bits, -500, 500)))
        lam = float(np.clip(posterior.mean(), 1e-6, 1 - 1e-6))
        for f in fields:
            column = rows[:, FIELDS.index(f)]
            present = column >= 0
            if not present.any():
                continue
            counts = np.bincount(column[present], weights=posterior[present],
                                 minlength=len(LEVELS[f]))
            if counts.sum() > 0:
                m[f] = np.asarray(_normalise(counts / counts.sum()))
    return m, lam


def _term_frequencies(records: Sequence[Demographics]) -> tuple[dict[str, dict[str, float]],
                                                                dict[str, float]]:
    tables: dict[str, dict[str, float]] = {}
    rare: dict[str, float] = {}
    for f in ("given", "family"):
        counts = Counter(v for v in (getattr(r, f) for r in records) if v)
        total = sum(counts.values())
        if not total:
            continue
        kept = [(v, c) for v, c in counts.most_common(TF_MAX_VALUES) if c > 1]
        tables[f] = {v: c / total for v, c in kept}
        rare[f] = 1 / total
    return tables, rare


def _estimate_prior(matrix: np.ndarray, inclusion: np.ndarray, params: Parameters, n: int) -> float:
    """P(match) of a random pair: the expected matches among the candidates over all pairs.

    A sampled pair stands for 1/inclusion pairs (Horvitz-Thompson). Matches that share no key
    are not counted, so this is a slight underestimate (by the blocking's miss rate).
    """
    if n < 2 or not len(matrix):
        return params.prior
    m = {f: np.asarray(params.m[f]) for f in FIELDS}
    u = {f: np.asarray(params.u[f]) for f in FIELDS}
    bits = _log_ratios(matrix, FIELDS, m, u)
    all_pairs = n * (n - 1) / 2
    prior = len(matrix) / all_pairs / 2
    for _ in range(20):
        odds = bits + math.log2(prior / (1 - prior))
        expected = float((1.0 / (1.0 + np.exp2(-np.clip(odds, -500, 500))) / inclusion).sum())
        prior = min(max(expected / all_pairs, 1e-12), 0.5)
    return prior
