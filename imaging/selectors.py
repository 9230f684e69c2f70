"""Domain reads of the imaging app: DICOM nodes, and the manifest index as the FHIR facade searches it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from imaging.models import DicomNode, ManifestSeries, ManifestStudy
from registry.models import APPROVED, DocumentEntry


def dicom_nodes_active() -> list[DicomNode]:
    return list(DicomNode.objects.filter(active=True).select_related("organisation"))


def patients_of_studies(study_uids: Iterable[str]) -> dict[str, str]:
    """The affinity-domain patient of each indexed study (the first manifest's, when several)."""
    return dict(ManifestStudy.objects.filter(study_instance_uid__in=list(study_uids))
                .order_by("-id").values_list("study_instance_uid", "patient_id"))


@dataclass(frozen=True)
class StudyCriteria:
    """A search of the manifest index (the FHIR ImagingStudy facade's). Each field is a list of
    AND-groups, each group a list of OR-values; an empty list does not narrow."""

    pks: list[list[int]] = field(default_factory=list)
    patient_ids: list[list[str]] = field(default_factory=list)  # affinity-domain CX
    # (study uid or None, accession number or None) pairs: an identifier of either kind
    identifiers: list[list[tuple[str | None, str | None]]] = field(default_factory=list)
    study_dates: list[list[tuple[str | None, str | None]]] = field(default_factory=list)  # DA, [low, high)
    modalities: list[list[str]] = field(default_factory=list)


def manifest_studies_find(*, criteria: StudyCriteria, offset: int, limit: int
                          ) -> tuple[list[ManifestStudy], int]:
    """One page of the indexed studies of Approved manifests, newest study first, with their
    series and instances, and how many match in all. Four queries whatever the page's size."""
    rows = _approved().filter(_matching(criteria))
    total = rows.count()
    page = list(rows.order_by("-study_date", "-id")
                .prefetch_related("series__instances")[offset:offset + limit]) if limit else []
    return page, total


def manifest_study_get(pk: int) -> ManifestStudy | None:
    """One indexed study of an Approved manifest, with its series and instances."""
    return _approved().filter(pk=pk).prefetch_related("series__instances").first()


def _approved() -> QuerySet[ManifestStudy]:
    # ITI TF-3 4.1.6.1: a Deprecated manifest no longer describes what is available.
    return ManifestStudy.objects.filter(Exists(DocumentEntry.objects.filter(
        entry_uuid=OuterRef("document_entry_uuid"), status=APPROVED)))


def _matching(criteria: StudyCriteria) -> Q:
    where = Q()
    for pks in criteria.pks:
        where &= Q(pk__in=pks)
    for patient_ids in criteria.patient_ids:
        where &= Q(patient_id__in=patient_ids)
    for identifiers in criteria.identifiers:
        either = Q(pk__in=[])
        for study_uid, accession_number in identifiers:
            if study_uid is not None:
                either |= Q(study_instance_uid=study_uid)
            if accession_number is not None:
                either |= Q(accession_number=accession_number)
        where &= either
    for dates in criteria.study_dates:
        overlap = Q(pk__in=[])
        for low, high in dates:
            one = ~Q(study_date="")
            if low:
                one &= Q(study_date__gte=low)
            if high:
                one &= Q(study_date__lt=high)
            overlap |= one
        where &= overlap
    for modalities in criteria.modalities:
        where &= Q(Exists(ManifestSeries.objects.filter(study=OuterRef("pk"), modality__in=modalities)))
    return where


@dataclass(frozen=True)
class StudyRow:
    """One indexed study as the console lists it, with the sites whose PACS hold its series."""

    pk: int
    study_instance_uid: str
    study_date: str
    modalities: str
    study_description: str
    accession_number: str
    patient_id: str
    sites: list[str]


def studies_of_patients(*, patient_ids: Iterable[str], limit: int = 100) -> list[StudyRow]:
    """The newest `limit` indexed studies of `patient_ids`, each with the sites of its series'
    Retrieve AE Titles (0008,0054): three queries whatever the number of rows."""
    wanted = list(patient_ids)
    if not wanted:
        return []
    studies = list(ManifestStudy.objects.filter(patient_id__in=wanted).order_by("-study_date", "-id")
                   .prefetch_related(Prefetch("series", queryset=ManifestSeries.objects.only(
                       "pk", "study_id", "retrieve_ae_title")))[:limit])
    titles = {s.retrieve_ae_title for study in studies for s in study.series.all()} - {""}
    sites = {ae: f"{name} ({ae})" for ae, name in DicomNode.objects.filter(
        ae_title__in=titles).values_list("ae_title", "organisation__name")}
    return [StudyRow(
        pk=study.pk, study_instance_uid=study.study_instance_uid, study_date=study.study_date,
        modalities=study.modalities, study_description=study.study_description,
        accession_number=study.accession_number, patient_id=study.patient_id,
        sites=sorted({sites.get(s.retrieve_ae_title, s.retrieve_ae_title)
                      for s in study.series.all() if s.retrieve_ae_title}))
        for study in studies]
