"""ebRIM fuzzed: the registry reads mutated SubmitObjectsRequests and AdhocQueryRequests into
plain objects or refuses them with its own errors (the fuzzing run itself: `make fuzz`)."""

from __future__ import annotations

from hypothesis import given

from fuzz import ebrim
from fuzz.engine import fuzz_settings


@fuzz_settings(120)
@given(ebrim.strategy())
def test_a_mutated_registry_request_is_read_or_refused_with_the_registrys_own_errors(data: bytes) -> None:
    ebrim.check(data)
