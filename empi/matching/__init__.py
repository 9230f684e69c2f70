"""Probabilistic matching of patient records: pure functions, no Django (Fellegi-Sunter).

    record.py      Demographics: what a source record says of a person, normalised
    compare.py     per-field comparison levels (rapidfuzz, nicknames, phonetic codes)
    score.py       the match weight of a pair and the per-field weights behind it
    blocking.py    the blocking keys of a record: candidates share at least one
    training.py    u from random pairs, m by EM per blocking rule; Parameters, versioned
    link.py        candidates ranked best first; link, review or new by two thresholds
"""
