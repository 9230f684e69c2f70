"""Checks that depend on what a document is, registered by the apps that know the content.

ITI-41 and RAD-68 share one SOAP action; a RAD-68 submission is an ITI-41 whose document is a KOS
manifest (RAD TF-3 4.68.4.1). The imaging app registers an inspector for manifests when it loads,
so the repository never imports it: the repository stores and registers; the inspector says
whether a document's content agrees with its metadata and what to index from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from registry.errors import RegistryError
from registry.metadata import DocumentEntry


@dataclass
class Inspection:
    errors: list[RegistryError] = field(default_factory=list)
    # The transaction the submission is, when this content makes it a more specific one
    # (a KOS manifest makes an ITI-41 a RAD-68 for the audit trail).
    transaction: str = ""
    # Writes what the content adds to the database; run inside the submission's transaction.
    index: Callable[[], None] | None = None


class Inspector(Protocol):
    def __call__(self, *, entry: DocumentEntry, path: Path) -> Inspection | None:
        """An Inspection of a document this inspector knows, or None for any other."""


_inspectors: list[Inspector] = []


def inspector_register(inspector: Inspector) -> None:
    if inspector not in _inspectors:
        _inspectors.append(inspector)


def documents_inspect(documents: Sequence[tuple[DocumentEntry, Path]]) -> list[Inspection]:
    """Every inspection of every document some inspector knows."""
    found = []
    for entry, path in documents:
        for inspector in _inspectors:
            inspection = inspector(entry=entry, path=path)
            if inspection is not None:
                found.append(inspection)
    return found
