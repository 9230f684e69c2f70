"""RAD-68: the repository's inspector for KOS manifests (RAD TF-3 4.68.4.1.3).

A document whose formatCode is the KOS SOP class, or whose mimeType is application/dicom, must
be a KOS manifest that agrees with its metadata. It is read from the request's own file before
anything is stored; its references are indexed in the transaction that registers it, so the
index never names a manifest the registry does not hold.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from imaging.kos.check import (
    DCM_SCHEMES,
    KOS_FORMAT_CODE,
    KOS_MIME_TYPE,
    REPOSITORY_METADATA_ERROR,
    manifest_check,
)
from imaging.kos.read import NotAManifest, manifest_read
from imaging.kos.services import manifest_index
from registry.errors import RegistryError
from registry.metadata import DocumentEntry
from repository.inspection import Inspection

TRANSACTION = "RAD-68"


def kos_inspect(*, entry: DocumentEntry, path: Path) -> Inspection | None:
    format_code = entry.format_code.code if entry.format_code else ""
    if format_code != KOS_FORMAT_CODE and entry.mime_type != KOS_MIME_TYPE:
        return None
    try:
        manifest = manifest_read(path)
    except NotAManifest as exc:
        return Inspection(transaction=TRANSACTION, errors=[RegistryError(
            REPOSITORY_METADATA_ERROR, f"the document is labelled a DICOM KOS manifest but is not "
            f"one: {exc}", f"{entry.location} mimeType")])
    problems = manifest_check(manifest=manifest, entry=entry)
    # RAD TF-3 4.68.4.1.2.3.2: eventCodeList carries the modalities (DCM, CID 29).
    modalities = " ".join(c.code for c in entry.event_code_list
                          if c.scheme in DCM_SCHEMES and not c.code.isdigit())

    def index() -> None:
        manifest_index(document_entry_uuid=entry.entry_uuid, document_unique_id=entry.unique_id,
                       repository_unique_id=settings.REPOSITORY_UNIQUE_ID, patient_id=entry.patient_id,
                       manifest=manifest, study_date=entry.service_start_time[:8], modalities=modalities)

    return Inspection(errors=problems, transaction=TRANSACTION, index=None if problems else index)
