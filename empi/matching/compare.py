"""Per-field comparison levels of two records: how far each field agrees (Fellegi-Sunter's gamma).

Each field has an ordered list of levels, best agreement first; a pair gets the first level whose
test it passes. A value missing on either side gives level None, which scores 0 (neutral).
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish
from nicknames import NickNamer
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from empi.matching.record import Demographics

# Level names per field, in order; a level is its index here.
NAME_LEVELS = ("exact", "swapped", "nickname", "jw_0.92", "phonetic", "jw_0.80", "else")
FAMILY_LEVELS = ("exact", "swapped", "other_family", "jw_0.92", "phonetic", "jw_0.80", "else")
DATE_LEVELS = ("exact", "day_month_swapped", "dl_1", "same_year", "else")
CODE_LEVELS = ("exact", "dl_1", "else")
TEXT_LEVELS = ("exact", "jw_0.92", "jw_0.80", "else")
STREET_LEVELS = ("exact", "jw_0.92", "jw_0.80", "same_number", "else")
SEX_LEVELS = ("exact", "else")

LEVELS: dict[str, tuple[str, ...]] = {
    "given": NAME_LEVELS,
    "family": FAMILY_LEVELS,
    "birth_date": DATE_LEVELS,
    "sex": SEX_LEVELS,
    "street": STREET_LEVELS,
    "city": TEXT_LEVELS,
    "postcode": CODE_LEVELS,
    "phone": CODE_LEVELS,
    "national_id": CODE_LEVELS,
}
FIELDS = tuple(LEVELS)

_NAMES = NickNamer()


@lru_cache(maxsize=65536)
def phonetic(value: str) -> str:
    """The Metaphone code of a name ("" for no name)."""
    return jellyfish.metaphone(value) if value else ""


@lru_cache(maxsize=65536)
def _name_forms(value: str) -> frozenset[str]:
    """A given name, the names it is a nickname of, and its own nicknames (lower case)."""
    lower = value.lower()
    return frozenset({lower} | _NAMES.canonicals_of(lower) | _NAMES.nicknames_of(lower))


def nicknames_agree(a: str, b: str) -> bool:
    """Bill and William, Bill and Billy (both William's): one name given in two forms."""
    fa, fb = _name_forms(a), _name_forms(b)
    return a.lower() in fb or b.lower() in fa or bool(_canonical(a) & _canonical(b))


@lru_cache(maxsize=65536)
def _canonical(value: str) -> frozenset[str]:
    return frozenset(_NAMES.canonicals_of(value.lower()))


def _fuzzy_name(a: str, b: str, *, nickname: bool) -> int:
    """The level of two different names: nickname, JW >= 0.92, phonetic, JW >= 0.80 or else."""
    if nickname and nicknames_agree(a, b):
        return 2
    similarity = JaroWinkler.similarity(a, b)
    if similarity >= 0.92:
        return 3
    if phonetic(a) == phonetic(b):
        return 4
    return 5 if similarity >= 0.80 else 6


@lru_cache(maxsize=262144)
def _given_level(a: str, b: str) -> int:
    return 0 if a == b else _fuzzy_name(a, b, nickname=True)


@lru_cache(maxsize=262144)
def _family_level(a: str, b: str) -> int:
    return 0 if a == b else _fuzzy_name(a, b, nickname=False)


def _swapped(a: Demographics, b: Demographics) -> bool:
    """Given and family names entered the wrong way round, one of them perhaps with a typo."""
    if a.given == a.family or not (a.given == b.family or a.family == b.given):
        return False
    return (JaroWinkler.similarity(a.given, b.family) >= 0.92
            and JaroWinkler.similarity(a.family, b.given) >= 0.92)


def crossed(a: Demographics, b: Demographics) -> bool:
    """One name entered in the other's field and the other name changed: a record's family name is
    the other's given name (or the reverse) while neither field agrees straight. The names are
    then compared crosswise, so a twin registered with the names the wrong way round still looks
    like a twin (same family name, another given name) and not like two strangers."""
    if a.given == b.given or a.family == b.family or a.given == a.family or b.given == b.family:
        return False
    return a.given == b.family or a.family == b.given


def given_level(a: Demographics, b: Demographics) -> int | None:
    if not a.given or not b.given:
        return None
    if a.given != b.given and _swapped(a, b):
        return 1
    if crossed(a, b):
        return 1 if a.given == b.family else _given_level(a.given, b.family)
    return _given_level(a.given, b.given)


def family_level(a: Demographics, b: Demographics) -> int | None:
    if not a.family or not b.family:
        return None
    if a.family == b.family:
        return 0
    if _swapped(a, b):
        return 1
    if crossed(a, b):
        return 1 if a.family == b.given else _family_level(a.family, b.given)
    if a.family in b.other_family or b.family in a.other_family:
        return 2
    return _family_level(a.family, b.family)


@lru_cache(maxsize=262144)
def date_level(a: str, b: str) -> int | None:
    """Birth dates (YYYYMMDD): exact, day and month swapped, one edit apart, same year, else."""
    if not a or not b:
        return None
    if a == b:
        return 0
    if a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6]:
        return 1
    if DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1:
        return 2
    return 3 if a[:4] == b[:4] else 4


def code_level(a: str, b: str) -> int | None:
    """Postcodes, phones, national IDs: exact, one edit (or transposition) apart, else."""
    if not a or not b:
        return None
    if a == b:
        return 0
    return 1 if DamerauLevenshtein.distance(a, b, score_cutoff=1) <= 1 else 2


@lru_cache(maxsize=262144)
def text_level(a: str, b: str) -> int | None:
    """Free text (street, city): exact, Jaro-Winkler >= 0.92, >= 0.80, else."""
    if not a or not b:
        return None
    if a == b:
        return 0
    similarity = JaroWinkler.similarity(a, b)
    return 1 if similarity >= 0.92 else 2 if similarity >= 0.80 else 3


@lru_cache(maxsize=262144)
def street_level(a: str, b: str) -> int | None:
    """Street lines: as free text, then the same house number on a street spelled otherwise."""
    level = text_level(a, b)
    if level != 3:
        return level
    number_a, number_b = a.split(" ", 1)[0], b.split(" ", 1)[0]
    return 3 if number_a[:1].isdigit() and number_a == number_b else 4


def sex_level(a: str, b: str) -> int | None:
    # Only F and M say anything: O, U, A, N are as good as unknown for matching.
    if a not in ("F", "M") or b not in ("F", "M"):
        return None
    return 0 if a == b else 1


def compare(a: Demographics, b: Demographics) -> dict[str, int | None]:
    """The comparison level of every field (None where either side has no value)."""
    return {
        "given": given_level(a, b),
        "family": family_level(a, b),
        "birth_date": date_level(a.birth_date, b.birth_date),
        "sex": sex_level(a.sex, b.sex),
        "street": street_level(a.street, b.street),
        "city": text_level(a.city, b.city),
        "postcode": code_level(a.postcode, b.postcode),
        "phone": code_level(a.phone, b.phone),
        "national_id": code_level(a.national_id, b.national_id),
    }
