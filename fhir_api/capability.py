"""GET /fhir/metadata and /fhir/openapi.json, both written from config.routes.FHIR_ROUTES, so
that neither can claim an interaction the node does not serve (FHIR R4 capabilitystatement.html)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from config.routes import FHIR_ROUTES, FhirRoute
from fhir_api.oauth import known_scopes
from fhir_api.request import FHIR_JSON

VERSION = "0.1.0"
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_PIX_OPERATION = "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix"
_CONDITIONAL = "conditional on identifier (ITI-104: PUT or DELETE [base]/Patient?identifier=system|value)"


@require_GET
def capability_statement(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/fhir").rstrip("/")
    return _json(capability(base), "application/fhir+json")


@require_GET
def openapi_description(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/fhir").rstrip("/")
    return _json(openapi(base), "application/json")


def capability(base: str) -> dict[str, Any]:
    system = [{"code": r.interaction} for r in FHIR_ROUTES if not r.resource]
    resources = sorted((r for r in FHIR_ROUTES if r.resource), key=lambda r: r.resource)
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "IHE MHD Document Recipient and Responder, PIXm Manager (with ITI-104), "
                         "PDQm Supplier, RESTful ATNA Audit Record Repository (ITI-81), and "
                         "ImagingStudy for every registered XDS-I.b manifest. JSON only.",
        "security": {
            "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                     "code": "OAuth"}]}],
            "extension": [{"url": _OAUTH_URIS, "extension": [
                {"url": "token", "valueUri": base.rsplit("/fhir", 1)[0] + "/oauth/token"}]}],
            "description": "OAuth2 client credentials (RFC 6749 4.4), one client per organisation, "
                           "scopes system/<Type>.read and .write; or a TLS client certificate of "
                           "the exchange's CA.",
        },
        "resource": [_resource(kind, list(routes))
                     for kind, routes in groupby(resources, lambda r: r.resource)],
    }
    if system:
        rest["interaction"] = system
    return {
        "resourceType": "CapabilityStatement", "id": "hienode", "url": f"{base}/metadata",
        "version": VERSION, "name": "HieNodeFhirFacade", "title": "Image sharing node: FHIR R4 facade",
        "status": "active", "experimental": False, "date": "2026-11-23", "publisher": "hienode",
        "kind": "instance",
        "software": {"name": "hienode", "version": VERSION},
        "implementation": {"description": "FHIR R4 facade over the node's XDS registry, repository and EMPI",
                           "url": base},
        "fhirVersion": "4.0.1", "format": ["application/fhir+json", "json"], "rest": [rest],
    }


def _resource(kind: str, routes: list[FhirRoute]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "versioning": "no-version", "readHistory": False}
    entry["interaction"] = [{"code": r.interaction} for r in routes if r.interaction != "operation"]
    if any(r.interaction == "update" for r in routes):
        entry.update(updateCreate=True, conditionalUpdate=True, documentation=_CONDITIONAL)
    if any(r.interaction == "delete" for r in routes):
        entry["conditionalDelete"] = "single"
    params = [p for r in routes if r.interaction == "search-type" for p in r.params]
    if params:
        entry["searchParam"] = [{"name": n, "type": t} for n, t in (p.split(":", 1) for p in params)]
    operations = [r for r in routes if r.interaction == "operation"]
    if operations:
        entry["operation"] = [{"name": r.operation.lstrip("$"), "definition": _PIX_OPERATION}
                              for r in operations]
    if not entry["interaction"]:
        del entry["interaction"]
    return entry


def openapi(base: str) -> dict[str, Any]:
    """OpenAPI 3.0.3 of the same routes, for client generators and property-based testing."""
    paths: dict[str, dict[str, Any]] = {}
    for route in FHIR_ROUTES:
        for path, method, operation in _operations(route):
            paths.setdefault(path, {})[method] = operation
    scopes = known_scopes()
    return {
        "openapi": "3.0.3",
        "info": {"title": "Image sharing node: FHIR R4 facade", "version": VERSION,
                 "description": "Generated from the node's table of FHIR routes; "
                                "/fhir/metadata is the CapabilityStatement of the same."},
        "servers": [{"url": base.rsplit("/fhir", 1)[0] or "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token", "scopes": dict(scopes)}}}},
            "schemas": {"Resource": {"type": "object", "required": ["resourceType"],
                                     "properties": {"resourceType": {"type": "string"}}}},
        },
    }


def _operations(route: FhirRoute) -> Iterable[tuple[str, str, dict[str, Any]]]:
    summary = (f"{route.transaction or 'FHIR'} {route.resource or 'system'} "
               f"{route.operation or route.interaction}")
    common = {"summary": summary, "security": [{"oauth2": [route.scope]}], "responses": _responses(route)}
    query = [_param(p, required=route.interaction in ("update", "delete")) for p in route.params]
    if route.interaction == "transaction":
        yield "/fhir", "post", {**common, "operationId": "transaction", "requestBody": _body()}
    elif route.interaction == "search-type":
        paging = [_integer("_count"), _integer("_offset")]
        yield f"/fhir/{route.resource}", "get", {**common, "operationId": f"search{route.resource}",
                                                 "parameters": query + paging}
    elif route.interaction == "read":
        key = {"name": "id", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": r"^[A-Za-z0-9\-.]{1,64}$"}}
        yield f"/fhir/{route.resource}/{{id}}", "get", {**common, "operationId": f"read{route.resource}",
                                                        "parameters": [key]}
    elif route.interaction == "operation":
        name = route.operation.lstrip("$")
        yield f"/fhir/{route.resource}/{route.operation}", "get", {
            **common, "operationId": f"{route.resource}{name.title().replace('-', '')}", "parameters": query}
    elif route.interaction == "update":
        yield f"/fhir/{route.resource}", "put", {**common, "operationId": f"update{route.resource}",
                                                 "parameters": query, "requestBody": _body()}
    elif route.interaction == "delete":
        yield f"/fhir/{route.resource}", "delete", {**common, "operationId": f"delete{route.resource}",
                                                    "parameters": query}


def _param(declared: str, *, required: bool) -> dict[str, Any]:
    name, _, kind = declared.partition(":")
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string"},
            "description": f"FHIR search parameter of type {kind}"}


def _integer(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}}


def _body() -> dict[str, Any]:
    return {"required": True, "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}}}


def _responses(route: FhirRoute) -> dict[str, Any]:
    resource = {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}}
    ok: dict[str, Any] = {"description": "the answer", "content": resource}
    if route.resource == "Binary":
        ok = {"description": "the document's bytes, in its own MIME type",
              "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
    answers: dict[str, Any] = {"200": ok}
    if route.interaction == "update":
        answers["201"] = {"description": "created", "content": resource}
    if route.interaction == "delete":
        answers["204"] = {"description": "deleted"}
    outcome = {"description": "an OperationOutcome", "content": resource}
    for status in ("400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422"):
        answers[status] = outcome
    return answers


def _json(value: dict[str, Any], content_type: str) -> HttpResponse:
    return HttpResponse(json.dumps(value, indent=1).encode(), content_type=f"{content_type}; charset=utf-8")
