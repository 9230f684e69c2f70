"""Selectors: a patient's indexed studies, and the instances a RAD-69 request names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count

from imaging.models import ManifestInstance, ManifestSeries, ManifestStudy


@dataclass(frozen=True)
class StudySummary:
    """One study of one registered manifest, as the priors list shows it."""

    study_instance_uid: str
    accession_number: str
    study_date: str
    study_description: str
    modalities: tuple[str, ...]
    patient_id: str
    document_entry_uuid: str
    document_unique_id: str
    repository_unique_id: str
    series_count: int
    instance_count: int
    retrieve_ae_titles: tuple[str, ...]


@dataclass(frozen=True)
class InstanceLocation:
    """Where one referenced instance can be retrieved (RAD TF-3 4.69.4.1.2)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    retrieve_ae_title: str
    retrieve_location_uid: str


def studies_for_patients(patient_ids: Sequence[str]) -> list[StudySummary]:
    """The studies indexed for any of `patient_ids` (affinity-domain IDs), newest first. Two queries."""
    studies = list(
        ManifestStudy.objects.filter(patient_id__in=list(patient_ids))
        .annotate(series_count=Count("series", distinct=True),
                  instance_count=Count("series__instances"))
        .order_by("-study_date", "study_instance_uid", "id")
    )
    titles: dict[int, list[str]] = {}
    for study_id, title in (ManifestSeries.objects.filter(study__in=[s.pk for s in studies])
                            .exclude(retrieve_ae_title="")
                            .values_list("study_id", "retrieve_ae_title").distinct()
                            .order_by("study_id", "retrieve_ae_title")):
        titles.setdefault(study_id, []).append(title)
    return [
        StudySummary(
            study_instance_uid=s.study_instance_uid, accession_number=s.accession_number,
            study_date=s.study_date, study_description=s.study_description,
            modalities=tuple(s.modalities.split()), patient_id=s.patient_id,
            document_entry_uuid=s.document_entry_uuid, document_unique_id=s.document_unique_id,
            repository_unique_id=s.repository_unique_id,
            series_count=s.series_count, instance_count=s.instance_count,
            retrieve_ae_titles=tuple(titles.get(s.pk, ())),
        )
        for s in studies
    ]


def instances_resolve(*, study_uid: str, series_uids: Sequence[str] = (),
                      instance_uids: Sequence[str] = ()) -> list[InstanceLocation]:
    """RAD TF-3 4.69.4.1.2: the instances of a StudyRequest, narrowed to its SeriesRequests and
    their DocumentRequests when given. An instance several manifests reference comes once, from
    the newest manifest. One query."""
    rows = ManifestInstance.objects.filter(series__study__study_instance_uid=study_uid)
    if series_uids:
        rows = rows.filter(series__series_instance_uid__in=list(series_uids))
    if instance_uids:
        rows = rows.filter(sop_instance_uid__in=list(instance_uids))
    found: dict[tuple[str, str], InstanceLocation] = {}
    for series_uid, sop_class, sop_instance, ae_title, location in (
        rows.order_by("-series__study_id", "series_id", "id")
        .values_list("series__series_instance_uid", "sop_class_uid", "sop_instance_uid",
                     "series__retrieve_ae_title", "series__retrieve_location_uid")
    ):
        found.setdefault((series_uid, sop_instance), InstanceLocation(
            study_instance_uid=study_uid, series_instance_uid=series_uid, sop_class_uid=sop_class,
            sop_instance_uid=sop_instance, retrieve_ae_title=ae_title, retrieve_location_uid=location))
    return list(found.values())
