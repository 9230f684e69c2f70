"""Plain values the prefetcher passes between finding priors, the rules, jobs and the pages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PriorStudy:
    """One outside study of a patient, as found in the manifest index or by C-FIND at its site."""

    study_instance_uid: str
    study_date: str  # DA, YYYYMMDD ("" when unknown)
    modalities: tuple[str, ...]  # e.g. ("CT", "SR")
    description: str
    body_part: str  # Body Part Examined (0018,0015), "" when unknown
    site_id: int  # the owning organisation's pk
    site_name: str
    source_id: int  # the DicomNode (query/retrieve source) that holds it
    instances: int  # as the manifest or the source counts them; 0 when unknown
    size_bytes: int = 0  # 0 when unknown
    accession_number: str = ""
    already_here: bool = False  # at the asking site's PACS already (C-FIND there), when checked
