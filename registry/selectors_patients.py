"""Domain: the registry's reads for a patient's page in the console: the documents filed under a
person's patient IDs, readable by a person, in a constant number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from organisations.models import AssigningAuthority
from registry.models import CodeValue, DocumentEntry
from registry.validation.provenance import authority_oid


@dataclass(frozen=True)
class DocumentRow:
    """One DocumentEntry as the console lists it: its class with the display name, and the source
    organisation read off the sourcePatientId's assigning authority."""

    pk: int
    title: str
    class_code: str
    class_name: str
    creation_time: str
    source_patient_id: str
    source_organisation: str
    status: str
    patient_id: str


def documents_of_patients(*, patient_ids: Sequence[str], limit: int = 100) -> list[DocumentRow]:
    """The newest `limit` DocumentEntries registered under any of `patient_ids`, in three queries
    whatever the number of rows (entries, the class codes' display names, the authorities)."""
    if not patient_ids:
        return []
    entries = list(DocumentEntry.objects.filter(patient_id__in=list(patient_ids))
                   .order_by("-creation_time", "-id")
                   .only("pk", "title", "class_code", "class_scheme", "creation_time",
                         "source_patient_id", "status", "patient_id")[:limit])
    if not entries:
        return []
    names = {(code, scheme): name for code, scheme, name in CodeValue.objects.filter(
        kind="classCode", code__in={e.class_code for e in entries}).values_list(
        "code", "scheme", "display_name")}
    oids = {authority_oid(e.source_patient_id) for e in entries} - {""}
    organisations = {oid: name or "" for oid, name in AssigningAuthority.objects.filter(
        universal_id__in=oids).values_list("universal_id", "organisation__name")}
    return [DocumentRow(
        pk=e.pk, title=e.title, class_code=e.class_code,
        class_name=names.get((e.class_code, e.class_scheme), ""),
        creation_time=e.creation_time, source_patient_id=e.source_patient_id,
        source_organisation=organisations.get(authority_oid(e.source_patient_id), ""),
        status=e.status.rsplit(":", 1)[-1], patient_id=e.patient_id) for e in entries]


def documents_count(*, patient_ids: Sequence[str], cap: int = 10_000) -> int:
    """How many DocumentEntries are registered under `patient_ids`, counted up to `cap` + 1 (on the
    (patient_id, status, ...) indexes: one patient's entries, never the table)."""
    if not patient_ids:
        return 0
    return int(DocumentEntry.objects.filter(patient_id__in=list(patient_ids))[:cap + 1].count())


