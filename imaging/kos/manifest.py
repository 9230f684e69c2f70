"""Domain: a KOS manifest as plain frozen objects, with DICOM keywords for their names.

Only what the node indexes and checks (RAD TF-3 4.68.4.1.2.2): the patient, the KOS's own study,
and the Current Requested Procedure Evidence Sequence (0040,A375), study by series by instance.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PatientIdentifier:
    """Patient ID (0010,0020) with its issuer: Issuer of Patient ID (0010,0021), and the Universal
    Entity ID of the Issuer of Patient ID Qualifiers Sequence (0010,0024) when present."""

    patient_id: str
    issuer_of_patient_id: str = ""
    universal_entity_id: str = ""
    universal_entity_id_type: str = ""

    @property
    def issuer_oid(self) -> str:
        """The issuer as an OID, when the KOS gives one (an ISO universal entity ID, or an
        Issuer of Patient ID written as an OID)."""
        if self.universal_entity_id and self.universal_entity_id_type in ("", "ISO"):
            return self.universal_entity_id
        return self.issuer_of_patient_id if _is_oid(self.issuer_of_patient_id) else ""


@dataclass(frozen=True)
class Accession:
    """Accession Number (0008,0050), with the Universal Entity ID of its Issuer of Accession
    Number Sequence (0008,0051) when present."""

    accession_number: str
    issuer_oid: str = ""


@dataclass(frozen=True)
class EvidenceInstance:
    """An item of the Referenced SOP Sequence (0008,1199)."""

    referenced_sop_class_uid: str
    referenced_sop_instance_uid: str


@dataclass(frozen=True)
class EvidenceSeries:
    """An item of the Referenced Series Sequence (0008,1115)."""

    series_instance_uid: str
    retrieve_ae_title: str = ""  # (0008,0054); the first, when several
    retrieve_location_uid: str = ""  # (0040,E011)
    modality: str = ""  # (0008,0060): not in the macro, but some sources add it
    instances: tuple[EvidenceInstance, ...] = ()


@dataclass(frozen=True)
class EvidenceStudy:
    """An item of the Current Requested Procedure Evidence Sequence (0040,A375)."""

    study_instance_uid: str
    accession: Accession | None = None
    series: tuple[EvidenceSeries, ...] = ()

    @property
    def modalities(self) -> tuple[str, ...]:
        """The distinct modalities of the series, in the order first seen."""
        return tuple(dict.fromkeys(s.modality for s in self.series if s.modality))

    @property
    def instance_count(self) -> int:
        return sum(len(s.instances) for s in self.series)


@dataclass(frozen=True)
class Manifest:
    """One Key Object Selection Document (SOP class 1.2.840.10008.5.1.4.1.1.88.59)."""

    sop_instance_uid: str
    patient: PatientIdentifier
    other_patient_ids: tuple[PatientIdentifier, ...] = ()  # Other Patient IDs Sequence (0010,1002)
    study_instance_uid: str = ""  # the KOS's own study
    accession: Accession | None = None  # the KOS's own Accession Number
    study_date: str = ""  # DA
    study_description: str = ""
    studies: tuple[EvidenceStudy, ...] = ()
    # Referenced Request Sequence (0040,A370): the orders the KOS fulfils.
    requested_accessions: tuple[Accession, ...] = ()

    @property
    def accessions(self) -> tuple[Accession, ...]:
        """Every accession number the manifest names, once each."""
        found = [self.accession, *(s.accession for s in self.studies), *self.requested_accessions]
        unique: dict[str, Accession] = {}
        for a in found:
            if a is None or not a.accession_number:
                continue
            known = unique.get(a.accession_number)
            if known is None or (a.issuer_oid and not known.issuer_oid):
                unique[a.accession_number] = a
        return tuple(unique.values())


def _is_oid(value: str) -> bool:
    parts = value.split(".")
    return len(parts) > 1 and all(p.isdigit() for p in parts)
