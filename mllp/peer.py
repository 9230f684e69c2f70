"""Who is on the other end of the connection a handler is answering: the organisation code of
the peer's TLS client certificate (ITI TF-2 3.19), or "" on the plain port.

The router sets it around each handler call, in the dispatch thread; a handler reads it to hold
an authenticated organisation to its own assigning authorities.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_organisation: ContextVar[str] = ContextVar("mllp_peer_organisation", default="")


def peer_organisation() -> str:
    """The authenticated organisation's code, "" when the connection carries no certificate."""
    return _organisation.get()


@contextmanager
def peer_of(organisation: str) -> Iterator[None]:
    token = _organisation.set(organisation)
    try:
        yield
    finally:
        _organisation.reset(token)
