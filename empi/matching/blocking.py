"""Blocking: the keys of a record; the candidates of a record are the records sharing one of them.

Each rule names the fields it reads. A rule gives no key when one of its fields is empty. Training
estimates a field's m only from rules that do not read it (their pairs agree on it by construction).
"""

from __future__ import annotations

from empi.matching.compare import phonetic
from empi.matching.record import Demographics

RULES: dict[str, tuple[str, ...]] = {
    "surname_year": ("family", "birth_date"),  # phonetic family name + birth year
    "initial_dob": ("given", "birth_date"),  # given-name initial + birth date
    "postcode_dob": ("postcode", "birth_date"),
    "phone": ("phone",),
    "national_id": ("national_id",),
    # Both names' phonetic codes, in either order: swapped names, and a mistyped birth date.
    "names": ("given", "family"),
    # Their first three letters, in either order: typos further on in both names.
    "name_prefixes": ("given", "family"),
    # The birth date alone (about 30 people per date in a million): names swapped, changed or
    # mistyped with the birth date intact. Its blocks hold initial_dob's and postcode_dob's; those
    # stay for training, where each rule's pairs estimate the fields it does not read.
    "birth_date": ("birth_date",),
    # The family name at a postcode, the house at a postcode or in a town: for a birth date keyed
    # wrong or missing. (A name in a whole town makes blocks too large in a city-sized EMPI.)
    "postcode_family": ("postcode", "family"),
    "postcode_street": ("postcode", "street"),
    "city_street": ("city", "street"),
    "postcode_given": ("postcode", "given"),  # a married woman at her address
}


def _keys(d: Demographics) -> dict[str, str]:
    given, family = phonetic(d.given), phonetic(d.family)
    parts: dict[str, tuple[str, ...]] = {
        "surname_year": (family, d.birth_date[:4]),
        "initial_dob": (d.given[:1], d.birth_date),
        "postcode_dob": (d.postcode, d.birth_date),
        "phone": (d.phone if len(d.phone) >= 7 else "",),
        "national_id": (d.national_id,),
        "names": tuple(sorted((given, family))),
        "name_prefixes": tuple(sorted((d.given[:3], d.family[:3]))),
        "birth_date": (d.birth_date,),
        "postcode_family": (d.postcode, family),
        "postcode_street": (d.postcode, _street_key(d.street)),
        "city_street": (d.city, _street_key(d.street)),
        "postcode_given": (d.postcode, given),
    }
    return {rule: f"{rule}:{'|'.join(values)}" for rule, values in parts.items() if all(values)}


def _street_key(street: str) -> str:
    """The house number and the street name's first three letters: typos further on still agree."""
    number = street.split(" ", 1)[0] if street[:1].isdigit() else ""
    name = "".join(c for c in street if c.isalpha())
    return f"{number} {name[:3]}" if number and name else ""


def blocking_keys(d: Demographics) -> set[str]:
    """Every blocking key of a record, e.g. "surname_year:SM0|1978"."""
    return set(_keys(d).values())


def rule_keys(d: Demographics) -> dict[str, str]:
    """The record's key under each rule that gives one (rule name -> key)."""
    return _keys(d)
