"""A request body read as FHIR JSON (FHIR R4 json.html), refusing what json.loads would let by.

json.loads accepts duplicate keys (the last wins), NaN and Infinity (not JSON, RFC 8259 6), and
recurses once per nesting level, so a body nested 5,000 deep raises RecursionError; it also reads
a property whose value is null, which FHIR never sends (a missing element is left out; null only
stands in an array of primitives for a value that has extensions alone). Each is
refused here as a 400 before any handler sees the body; a body over FHIR_MAX_BODY_BYTES is a 413
and is not read past the limit.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from django.conf import settings

from fhir_api.errors import FhirError, bad_request

MAX_DEPTH = 64  # FHIR resources nest a dozen levels; a Bundle of them a few more


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def read_body(stream: Readable, *, content_length: int | None) -> Any:
    """The JSON value of the body, or a FhirError. `stream` is read at most limit + 1 bytes."""
    limit = settings.FHIR_MAX_BODY_BYTES
    if content_length is not None and content_length > limit:
        raise too_large(limit)
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise too_large(limit)
    return parse_json(raw)


def too_large(limit: int) -> FhirError:
    return FhirError(413, f"the body is larger than this server takes ({limit} bytes)", code="too-long")


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise bad_request("the request has no body; a FHIR resource was expected", code="required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8 (FHIR R4 json.html: JSON is UTF-8)",
                          code="structure") from None
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise bad_request(f"the JSON nests {depth} levels deep; this server reads at most {MAX_DEPTH}",
                          code="structure")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Refused as exc:
        raise bad_request(str(exc), code="structure") from None
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"the body is not JSON: {exc}", code="structure") from None
    if _has_control_character(value):
        # FHIR R4 datatypes.html#string: no code point below 32 but tab, CR and LF. JSON lets
        # them in escaped (\u0000); the XML the node writes from them cannot hold them.
        raise bad_request("a string of the body holds a control character (FHIR R4 datatypes.html: "
                          "string)", code="structure")
    return value


class _Refused(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(f"the JSON object has the key {key!r} twice (FHIR R4 json.html: "
                           f"each property appears once)")
        if value is None:
            # FHIR R4 json.html: an element without a value is absent, never null; readers do
            # `resource.get(key, default)` and must not be handed None.
            raise _Refused(f"the JSON property {key!r} is null (FHIR R4 json.html: an empty element "
                           f"is left out)")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (RFC 8259 6)")


def _has_control_character(value: Any) -> bool:
    """True when a key or string anywhere in `value` holds what FHIR strings and XML 1.0 exclude;
    walked with a stack, since the nesting is already bounded but need not be shallow."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _CONTROL.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth(text: str) -> int:
    """The deepest nesting of objects and arrays, counted without recursion, strings skipped.

    The strings go first in one regular-expression pass, so a large base64 Binary costs C time."""
    deepest = depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        else:
            depth -= 1
    return deepest


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: one step per run
_BRACKETS = re.compile(r"[\[\]{}]")
# Below 32 but tab, LF and CR; lone surrogates; U+FFFE and U+FFFF (XML 1.0 2.2 Char).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
