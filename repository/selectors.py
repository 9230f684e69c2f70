"""Domain: the repository's reads."""

from __future__ import annotations

from collections.abc import Sequence

from repository.models import Document


def documents_by_unique_id(unique_ids: Sequence[str]) -> dict[str, Document]:
    """The documents held under these uniqueIds, by uniqueId; those not held are absent."""
    return {d.unique_id: d for d in Document.objects.filter(unique_id__in=list(unique_ids))}
