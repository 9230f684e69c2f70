"""Search parameters as FHIR R4 search.html defines them: token, string, date, reference, uri.

Each parameter may repeat (AND) and carry comma-separated values (OR), so every accessor
returns a list of OR-groups. A parameter the route does not declare is a 400 (FHIR R4 3.1.1.4.1:
a server may refuse what it does not support; `Prefer: handling=lenient` asks us to ignore it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from fhir_api.errors import bad_request
from fhir_api.request import FhirRequest

# Result parameters every search takes (FHIR R4 search.html 3.1.1.5).
CONTROL = ("_count", "_offset", "_format", "_total")
_MODIFIERS = {"string": ("", "exact", "contains"), "token": ("",), "date": ("",),
              "reference": ("", "identifier"), "uri": ("",)}
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


@dataclass(frozen=True)
class Token:
    """`system|code`; `system` None when the client gave no bar (any system), "" for `|code`."""

    system: str | None
    code: str


@dataclass(frozen=True)
class StringValue:
    value: str
    exact: bool = False  # :exact, case and accents as given
    contains: bool = False  # :contains, anywhere in the value


@dataclass(frozen=True)
class DateRange:
    """A date parameter as the instants it covers: `low` inclusive, `high` exclusive, either open."""

    low: datetime | None
    high: datetime | None

    def dtm(self) -> tuple[str | None, str | None]:
        """The bounds as HL7 DTM padded to 14 digits (the registry's columns), high exclusive."""
        return (self.low.strftime("%Y%m%d%H%M%S") if self.low else None,
                self.high.strftime("%Y%m%d%H%M%S") if self.high else None)


class Search:
    """The request's parameters, checked against what its route declares."""

    def __init__(self, request: FhirRequest) -> None:
        self.types = dict(p.split(":", 1) for p in request.declared)
        self._values: dict[str, list[tuple[str, str]]] = {}
        lenient = "handling=lenient" in request.headers.get("prefer", "").replace(" ", "")
        for key, value in request.params:
            name, _, modifier = key.partition(":")
            if name in CONTROL:
                continue
            kind = self.types.get(name)
            if kind is None:
                if lenient:
                    continue
                raise bad_request(f"the search parameter {name!r} is not supported here; this "
                                  f"interaction takes {', '.join(sorted(self.types)) or 'none'}",
                                  code="not-supported", expression=name)
            if modifier not in _MODIFIERS[kind]:
                raise bad_request(f"the modifier :{modifier} is not supported on {name}",
                                  code="not-supported", expression=key)
            if value == "":
                raise bad_request(f"the search parameter {name} has no value", expression=name)
            self._values.setdefault(name, []).append((modifier, value))
        self.count = _whole(request, "_count", settings.FHIR_PAGE_SIZE, low=0,
                            high=settings.FHIR_PAGE_MAX)
        self.offset = _whole(request, "_offset", 0, low=0, high=10**9)

    def has(self, name: str) -> bool:
        return name in self._values

    def raw(self, name: str) -> list[tuple[str, str]]:
        """(modifier, value) pairs as sent."""
        return list(self._values.get(name, ()))

    def tokens(self, name: str) -> list[list[Token]]:
        return [[_token(v) for v in _split(value)] for _, value in self._values.get(name, ())]

    def strings(self, name: str) -> list[list[StringValue]]:
        return [[StringValue(v, exact=m == "exact", contains=m == "contains") for v in _split(value)]
                for m, value in self._values.get(name, ())]

    def references(self, name: str) -> list[list[str]]:
        """Each reference as `Type/id` (an absolute URL to this server's base is cut to that)."""
        return [[_reference(v) for v in _split(value)] for _, value in self._values.get(name, ())]

    def uris(self, name: str) -> list[list[str]]:
        return [_split(value) for _, value in self._values.get(name, ())]

    def dates(self, name: str) -> list[list[DateRange]]:
        return [[date_range(v, name) for v in _split(value)] for _, value in self._values.get(name, ())]


def _split(value: str) -> list[str]:
    """Comma-separated OR values; `\\,` is a comma inside a value (search.html 3.1.1.5.7)."""
    parts = [p.replace("\\,", ",") for p in re.split(r"(?<!\\),", value)]
    return [p for p in parts if p != ""]


def _token(value: str) -> Token:
    if "|" not in value:
        return Token(None, value)
    system, _, code = value.partition("|")
    return Token(system, code)


def _reference(value: str) -> str:
    if "://" in value:
        parts = value.rstrip("/").split("/")
        return "/".join(parts[-2:]) if len(parts) >= 2 else value
    return value


def date_range(value: str, name: str = "date") -> DateRange:
    """FHIR R4 search.html 3.1.1.5.9: a date with a prefix is a range at the value's precision."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    text = value[2:] if value[:2] in _PREFIXES else value
    match = _DATE.match(text)
    if not match:
        raise bad_request(f"{name}: {value!r} is not a FHIR date or dateTime", expression=name)
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        low = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                       int(second or 0), tzinfo=UTC)
    except ValueError:
        raise bad_request(f"{name}: {value!r} is not a real date", expression=name) from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        try:
            low -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        except OverflowError:
            raise bad_request(f"{name}: {value!r} is out of range", expression=name) from None
    high = _end_of(low, month=month, day=day, minute=minute, second=second)
    if prefix == "eq" or prefix == "ap":
        return DateRange(low, high)
    if prefix == "ge":
        return DateRange(low, None)
    if prefix in ("gt", "sa"):
        return DateRange(high, None) if high else DateRange(low, low)  # after 9999: nothing
    if prefix == "le":
        return DateRange(None, high)
    if prefix in ("lt", "eb"):
        return DateRange(None, low)
    raise bad_request(f"{name}: the prefix {prefix!r} is not supported", code="not-supported",
                      expression=name)


def _end_of(low: datetime, *, month: str | None, day: str | None, minute: str | None,
            second: str | None) -> datetime | None:
    """The first instant after a value of this precision; None past year 9999 (open above)."""
    try:
        if second is not None:
            return low + timedelta(seconds=1)
        if minute is not None:
            return low + timedelta(minutes=1)
        if day is not None:
            return low + timedelta(days=1)
        if month is not None:
            return low.replace(year=low.year + (low.month == 12), month=low.month % 12 + 1)
        return low.replace(year=low.year + 1)
    except (OverflowError, ValueError):
        return None


def _whole(request: FhirRequest, name: str, default: int, *, low: int, high: int) -> int:
    given = request.values(name)
    if not given:
        return default
    try:
        number = int(given[-1])
    except ValueError:
        raise bad_request(f"{name} must be a whole number", expression=name) from None
    if number < low:
        raise bad_request(f"{name} must be at least {low}", expression=name)
    return min(number, high)


def row_key(text: str) -> int | None:
    """A resource id or `_id` as the key of its row; None for what no row can have: not ASCII
    digits ("²" is a digit to str.isdigit), or past a 64-bit integer."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def refuse_nul(request: FhirRequest) -> None:
    """400 for a parameter holding NUL: no stored value has one, and PostgreSQL refuses it."""
    for name, value in request.params:
        if "\x00" in value:
            raise bad_request(f"{name} holds a NUL character", expression=name)
