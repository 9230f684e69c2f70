"""Property-based tests: schemathesis generates requests, well-formed and not, from the node's own
OpenAPI description (/fhir/openapi.json) and sends them through the node's WSGI application; no
answer may be a 5xx, and every status must be one the description declares.

schemathesis' pytest plugin does not run under pytest 9, so each operation's strategy is drawn
with hypothesis directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance

from config.wsgi import application
from fhir_api.capability import openapi
from tests.fhir.conftest import register_client, token_for

pytestmark = pytest.mark.django_db
EXAMPLES = 30


@contextmanager
def _connection_kept() -> Iterator[None]:
    """As Django's test client does: a request's end must not close the test's connection,
    which holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db: None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(Client(), register_client(code='fuzz'))}"}


def _labels() -> list[str]:
    schema = schemathesis.openapi.from_dict(openapi("http://localhost/fhir"))
    return [result.ok().label for result in schema.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", _labels())
def test_no_generated_request_gets_a_server_error(bearer: dict[str, str], label: str,
                                                  mode: GenerationMode) -> None:
    with _connection_kept():
        schema = schemathesis.openapi.from_wsgi("/fhir/openapi.json", application)
        operation = schema.find_operation_by_label(label)
        assert operation is not None
        _run(operation, bearer, mode)


def _run(operation: Any, bearer: dict[str, str], mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call(headers=bearer)
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

    check()
