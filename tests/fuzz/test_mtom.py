"""MTOM fuzzed: the SOAP edge reads hostile multipart/related bodies into a request or a SOAP
fault, and writes nothing outside the request's folder (the fuzzing run itself: `make fuzz`)."""

from __future__ import annotations

from hypothesis import given

from fuzz import mtom
from fuzz.engine import fuzz_settings


@fuzz_settings(40)
@given(mtom.strategy())
def test_a_hostile_mtom_body_is_read_or_answered_with_a_soap_fault(example: tuple[str, bytes]) -> None:
    mtom.check(example)
