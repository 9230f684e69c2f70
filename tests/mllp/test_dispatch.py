"""Dispatch on MSH-9: the handler a route names answers; everything else gets an AE or AR."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.routes import HL7v2Route
from mllp.ack import ack_for
from mllp.dispatch import Router
from tests.mllp.client import MAXIMAL_FEED, REGISTRATION, control_id, err3, msa, parse


def accept(message: Any) -> str:
    """A handler as empi's will be: answers with an AA."""
    return ack_for(message).replace("\r", "\n")


def explode(message: Any) -> str:
    raise ValueError(f"no patient {message.segment('PID')(5)}")


def answer_nothing(message: Any) -> str:
    return ""


def router(*routes: tuple[str, str, str]) -> Router:
    return Router([HL7v2Route(type_, trigger, "ITI-8", f"tests.mllp.test_dispatch.{handler}")
                   for type_, trigger, handler in routes])


def registration() -> bytes:
    return REGISTRATION.read_bytes()


def test_a_routed_message_gets_its_handlers_response_with_segments_ended_by_cr() -> None:
    reply = router(("ADT", "A04", "accept")).respond(registration())
    assert msa(reply.payload) == ("AA", "205632")
    assert b"\n" not in reply.payload
    assert (reply.message_code, reply.control_id, reply.ack_code) == ("ADT^A04", "205632", "AA")


def test_a_message_type_without_route_gets_an_unsupported_message_type_error() -> None:
    reply = Router([]).respond(MAXIMAL_FEED.read_bytes())
    assert msa(reply.payload) == ("AE", control_id(MAXIMAL_FEED.read_bytes()))
    assert err3(reply.payload) == "200^Unsupported message type^HL70357"


def test_a_known_type_with_an_unknown_trigger_gets_an_unsupported_event_code_error() -> None:
    reply = router(("ADT", "A04", "accept")).respond(MAXIMAL_FEED.read_bytes())  # an A01
    assert msa(reply.payload)[0] == "AE"
    assert err3(reply.payload) == "201^Unsupported event code^HL70357"


def test_a_handler_that_raises_gets_an_internal_error_without_the_exception_text(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        reply = router(("ADT", "A04", "explode")).respond(registration())
    assert msa(reply.payload) == ("AE", "205632")
    assert err3(reply.payload) == "207^Application internal error^HL70357"
    assert b"Hiccock" not in reply.payload
    assert "ValueError" in caplog.text
    assert "Hiccock" not in caplog.text


def test_a_handler_that_answers_nothing_gets_an_internal_error() -> None:
    reply = router(("ADT", "A04", "answer_nothing")).respond(registration())
    assert msa(reply.payload)[0] == "AE"
    assert err3(reply.payload).startswith("207^")


@pytest.mark.parametrize(("payload", "code"), [
    (b"\x00\x01\xfe\xff garbage", "100"),
    (b"", "100"),
    (b"PID|||A123\rPV1||O\r", "100"),
    (b"MSH|^^", "102"),
])
def test_unreadable_input_gets_an_application_reject_with_no_control_id(
        payload: bytes, code: str) -> None:
    reply = Router([]).respond(payload)
    assert msa(reply.payload) == ("AR", "")
    assert err3(reply.payload).split("^")[0] == code
    assert str(parse(reply.payload).segment("MSH")(1)) == "|"


def test_a_message_missing_its_trigger_event_is_rejected_naming_it() -> None:
    reply = Router([]).respond(b"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101||ADT|H-9|P|2.5\r")
    assert msa(reply.payload) == ("AR", "H-9")
    assert err3(reply.payload) == "101^Required field missing^HL70357"


def test_an_oversized_message_is_rejected_naming_it_and_saying_it_is_too_large() -> None:
    head = registration()[:500]
    reply = Router([]).reject_oversized(head=head, size=10_000_000, limit=1_048_576)
    assert msa(reply.payload) == ("AR", "205632")
    assert b"too large" in reply.payload
    assert err3(reply.payload).startswith("207^")


def test_a_latin1_message_is_answered_in_latin1() -> None:
    message = registration().replace(b"Hiccock", "Hiccöck".encode("latin-1"))
    reply = router(("ADT", "A04", "accept")).respond(message)
    assert reply.payload.decode("latin-1").startswith("MSH|")
    assert msa(reply.payload) == ("AA", "205632")


def test_handlers_are_imported_at_start_up() -> None:
    with pytest.raises(ImportError):
        router(("ADT", "A04", "no_such_handler"))


def test_two_routes_for_one_message_type_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured):
        router(("ADT", "A04", "accept"), ("ADT", "A04", "explode"))
