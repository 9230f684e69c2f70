"""Domain services: a registered KOS manifest's references indexed in rows, or removed.

Both run in the caller's transaction (the one that registers or removes the manifest's
DocumentEntry, with its audit record), so the index never disagrees with the registry; neither
opens one of its own.
"""

from __future__ import annotations

from imaging.kos.manifest import EvidenceSeries, EvidenceStudy, Manifest
from imaging.models import ManifestInstance, ManifestSeries, ManifestStudy


def manifest_index(*, document_entry_uuid: str, document_unique_id: str, repository_unique_id: str,
                   patient_id: str, manifest: Manifest, study_date: str = "",
                   modalities: str = "") -> None:
    """Index every study, series and instance `manifest` references, for the DocumentEntry
    `document_entry_uuid` of the affinity-domain patient `patient_id`.

    `study_date` (DA) and `modalities` (space-separated) come from the metadata, for studies the
    manifest says less about: the manifest's own Study Date and its series' Modality win.
    Three INSERTs whatever the size (more only past the database's parameter limit).
    """
    studies = _merged(manifest.studies)
    rows = [
        ManifestStudy(
            document_entry_uuid=document_entry_uuid, document_unique_id=document_unique_id,
            repository_unique_id=repository_unique_id, patient_id=patient_id,
            study_instance_uid=study.study_instance_uid,
            accession_number=_accession(manifest, study, single=len(studies) == 1)[:64],
            study_date=(manifest.study_date or study_date)[:8],
            study_description=manifest.study_description[:64],
            modalities=(" ".join(study.modalities) or modalities)[:128],
        )
        for study in studies
    ]
    ManifestStudy.objects.bulk_create(rows)
    series_rows: list[tuple[ManifestSeries, EvidenceSeries]] = [
        (ManifestSeries(study=row, series_instance_uid=s.series_instance_uid, modality=s.modality[:16],
                        retrieve_ae_title=s.retrieve_ae_title[:16],
                        retrieve_location_uid=s.retrieve_location_uid),
         s)
        for row, study in zip(rows, studies, strict=True)
        for s in study.series
    ]
    ManifestSeries.objects.bulk_create([row for row, _ in series_rows])
    ManifestInstance.objects.bulk_create([
        ManifestInstance(series=row, sop_class_uid=i.referenced_sop_class_uid,
                         sop_instance_uid=i.referenced_sop_instance_uid)
        for row, series in series_rows
        for i in series.instances
    ])


def manifest_unindex(*, document_entry_uuid: str) -> None:
    """Remove what `manifest_index` wrote for this DocumentEntry (deprecated or deleted)."""
    # The cascade fetches studies and series but deletes instances by series, never one by one.
    ManifestStudy.objects.filter(document_entry_uuid=document_entry_uuid).delete()


def _merged(studies: tuple[EvidenceStudy, ...]) -> list[EvidenceStudy]:
    """One study per Study Instance UID: a KOS may list a study in more than one item, and the
    index keeps one row per study and manifest."""
    by_uid: dict[str, EvidenceStudy] = {}
    for study in studies:
        known = by_uid.get(study.study_instance_uid)
        by_uid[study.study_instance_uid] = study if known is None else EvidenceStudy(
            study_instance_uid=known.study_instance_uid, accession=known.accession or study.accession,
            series=known.series + study.series)
    return list(by_uid.values())


def _accession(manifest: Manifest, study: EvidenceStudy, *, single: bool) -> str:
    """The study's accession number: its own, else the KOS's when the KOS is of that study or
    references no other."""
    if study.accession:
        return study.accession.accession_number
    if manifest.accession and (single or study.study_instance_uid == manifest.study_instance_uid):
        return manifest.accession.accession_number
    return ""
