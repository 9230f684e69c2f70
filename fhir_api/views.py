"""The FHIR R4 HTTP edge: match a request to its line of config.routes.FHIR_ROUTES, check who
asks and with what scope, read the body, call the handler, answer JSON or an OperationOutcome.

URLs (FHIR R4 http.html 3.1.0.1): `[base]` for a transaction Bundle, `[base]/Type` for search
(GET, or POST to `_search`) and conditional update and delete, `[base]/Type/id` for read,
`[base]/Type/$op` for an operation.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt

from config.routes import FHIR_ROUTES, FhirRoute
from fhir_api import audit
from fhir_api.auth import client_of, require_scope
from fhir_api.errors import FhirError, operation_outcome
from fhir_api.request import FHIR_JSON, Client, FhirRequest, FhirResponse
from fhir_api.search import refuse_nul
from fhir_api.wire.body import read_body

logger = logging.getLogger(__name__)

Handler = Callable[[FhirRequest], FhirResponse]
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "*/*",
               "application/*")
_JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")
_BODY_METHODS = ("POST", "PUT")


@csrf_exempt
def system(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if request.method != "POST":
        return _refusal(FhirError(405, "the base URL takes a POSTed transaction Bundle",
                                  code="not-supported"))
    return _dispatch(request, "", "transaction", "")


@csrf_exempt
def resource_type(request: HttpRequest, kind: str) -> HttpResponse | StreamingHttpResponse:
    interaction = {"GET": "search-type", "PUT": "update", "DELETE": "delete"}.get(request.method or "", "")
    if request.method == "POST":
        return _refusal(FhirError(405, f"{kind}: create is not offered; see /fhir/metadata",
                                  code="not-supported"))
    return _dispatch(request, kind, interaction, "")


@csrf_exempt
def search_post(request: HttpRequest, kind: str) -> HttpResponse | StreamingHttpResponse:
    if request.method != "POST":
        return _refusal(FhirError(405, "_search takes POST", code="not-supported"))
    return _dispatch(request, kind, "search-type", "")


@csrf_exempt
def instance(request: HttpRequest, kind: str, key: str) -> HttpResponse | StreamingHttpResponse:
    if request.method != "GET":
        return _refusal(FhirError(405, f"{kind}/{key}: only read is offered", code="not-supported"))
    return _dispatch(request, kind, "read", key)


@csrf_exempt
def operation(request: HttpRequest, kind: str, name: str) -> HttpResponse | StreamingHttpResponse:
    if request.method not in ("GET", "POST"):
        return _refusal(FhirError(405, "an operation takes GET or POST", code="not-supported"))
    return _dispatch(request, kind, "operation", "", operation=f"${name}")


def _dispatch(http: HttpRequest, kind: str, interaction: str, key: str, *,
              operation: str = "") -> HttpResponse | StreamingHttpResponse:
    anonymous = Client(client_id="", organisation="", host=http.META.get("REMOTE_ADDR", ""))
    headers = {k.lower(): v for k, v in http.headers.items() if k.lower() != "authorization"}
    fhir = FhirRequest(method=http.method or "GET", base=base_url(http), resource_type=kind, resource_id=key,
                       params=[], body=None, url=http.build_absolute_uri(), interaction=interaction,
                       client=anonymous, transaction="", accept=http.headers.get("Accept", FHIR_JSON),
                       headers=headers)
    try:
        route = _route(kind, interaction, operation)
        fhir.transaction = route.transaction
        fhir.declared = route.params
        fhir.client = client_of(http)
        require_scope(fhir.client, route.scope)
        fhir.params = _params(http, interaction)
        refuse_nul(fhir)
        _check_format(fhir)
        if http.method in _BODY_METHODS and interaction not in ("search-type", "operation"):
            _check_content_type(http)
            try:
                fhir.body = read_body(http, content_length=_length(http))
            except UnreadablePostError:
                # The web worker cut off a body arriving below its minimum rate, or the client
                # left (config/gunicorn_worker.py): the client's doing, not the server's.
                raise FhirError(408, "the request body arrived too slowly or not at all",
                                code="timeout") from None
        answer = _handler(route.handler)(fhir)
    except FhirError as error:
        if not error.audited and (error.status not in (404, 405) or fhir.transaction):
            audit.refused(fhir, error)
        return _refusal(error)
    except Exception:
        # The type and place only: the exception's text may carry patient data.
        logger.exception("FHIR %s %s failed", interaction, kind or "system")
        failure = FhirError(500, "the server failed to answer; the failure is logged", code="exception")
        audit.refused(fhir, failure)
        return _refusal(failure)
    return _render(answer)


def base_url(http: HttpRequest) -> str:
    return http.build_absolute_uri("/fhir").rstrip("/")


def _route(kind: str, interaction: str, operation: str) -> FhirRoute:
    offered = [r for r in FHIR_ROUTES if r.resource == kind]
    if not offered:
        raise FhirError(404, f"the resource type {kind!r} is not served here; see /fhir/metadata",
                        code="not-supported")
    for route in offered:
        if route.interaction == interaction and route.operation == operation:
            return route
    what = operation or interaction or "this method"
    raise FhirError(405, f"{kind}: {what} is not offered; see /fhir/metadata", code="not-supported")


def _params(http: HttpRequest, interaction: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(http.META.get("QUERY_STRING", ""), keep_blank_values=True)
    form = (http.content_type or "") == "application/x-www-form-urlencoded"
    if http.method == "POST" and interaction in ("search-type", "operation") and form:
        body = http.read(1024 * 1024 + 1)
        if len(body) > 1024 * 1024:
            raise FhirError(413, "a _search form is at most 1 MiB", code="too-long")
        pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return pairs


def _check_format(fhir: FhirRequest) -> None:
    """JSON only (FHIR R4 http.html 3.1.0.1.10); `_format` wins over Accept. ITI-68 answers the
    document's own type, so Binary read negotiates for itself."""
    formats = [v for k, v in fhir.params if k == "_format"]
    if formats and formats[-1].lower() not in _JSON_FORMATS:
        raise FhirError(406, "this server answers FHIR JSON only (_format=json)", code="not-supported")
    if fhir.resource_type == "Binary" or formats:
        return
    wanted = [part.split(";")[0].strip().lower() for part in fhir.accept.split(",") if part.strip()]
    if wanted and not any(w in _JSON_TYPES for w in wanted):
        raise FhirError(406, "this server answers application/fhir+json only", code="not-supported")


def _check_content_type(http: HttpRequest) -> None:
    kind = (http.content_type or "").lower()
    if kind not in ("application/fhir+json", "application/json", "application/json+fhir"):
        raise FhirError(415, "the body must be application/fhir+json", code="not-supported")


def _length(http: HttpRequest) -> int | None:
    try:
        return int(http.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


@cache
def _handler(dotted: str) -> Handler:
    module, _, name = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def _render(answer: FhirResponse) -> HttpResponse | StreamingHttpResponse:
    if answer.stream is not None:
        streamed = StreamingHttpResponse(answer.stream, status=answer.status,
                                         content_type=answer.content_type)
        if answer.content_length is not None:
            streamed["Content-Length"] = str(answer.content_length)
        for name, value in answer.headers.items():
            streamed[name] = value
        return streamed
    response = _json(answer.resource, answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def _refusal(error: FhirError) -> HttpResponse:
    response = _json(error.outcome(), error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _json(resource: dict[str, Any] | None, status: int) -> HttpResponse:
    body = b"" if resource is None else json.dumps(resource, ensure_ascii=False,
                                                   separators=(",", ":")).encode()
    return HttpResponse(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")


@csrf_exempt
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /fhir: a 404 OperationOutcome, not Django's HTML page."""
    diagnostics = "no FHIR interaction is served at this path; see /fhir/metadata"
    return _json(operation_outcome(severity="error", code="not-found", diagnostics=diagnostics), 404)
