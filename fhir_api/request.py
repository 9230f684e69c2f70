"""What a FHIR handler is given and what it gives back: plain values, no Django request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Client:
    """Who is asking: the OAuth2 client or the organisation of the TLS client certificate."""

    client_id: str  # the OAuth2 client_id, or "certificate:<organisation code>"
    organisation: str  # the organisation's code, "" when the client belongs to none
    host: str  # the peer's IP address
    scopes: frozenset[str] = frozenset()


@dataclass
class FhirRequest:
    """One FHIR interaction, as config.routes.FHIR_ROUTES matched it."""

    method: str
    base: str  # the service base URL, "https://node.example/fhir", for fullUrl and links
    resource_type: str  # "" at the system level
    resource_id: str  # read, or "" for search and conditional interactions
    params: list[tuple[str, str]]  # query string (or _search form) pairs, in the order sent
    body: Any  # the parsed JSON body, None without one
    url: str  # the request URL as received (the audit's query, ITI TF-2 3.67.5.1.2)
    client: Client
    transaction: str  # the IHE transaction of the route, "" for a plain RESTful interaction
    interaction: str  # search-type, read, update, delete, transaction, operation
    declared: tuple[str, ...] = ()  # the route's parameters, "name:type"
    accept: str = FHIR_JSON
    headers: dict[str, str] = field(default_factory=dict)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.params if key == name]


@dataclass
class FhirResponse:
    """A resource to answer with, or raw bytes (ITI-68 returns the document itself)."""

    status: int = 200
    resource: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None
    content_type: str = FHIR_JSON
    content_length: int | None = None
