"""Domain reads of the imaging app that are not the manifest index's: DICOM nodes."""

from __future__ import annotations

from collections.abc import Iterable

from imaging.models import DicomNode, ManifestStudy


def dicom_nodes_active() -> list[DicomNode]:
    return list(DicomNode.objects.filter(active=True).select_related("organisation"))


def patients_of_studies(study_uids: Iterable[str]) -> dict[str, str]:
    """The affinity-domain patient of each indexed study (the first manifest's, when several)."""
    return dict(ManifestStudy.objects.filter(study_instance_uid__in=list(study_uids))
                .order_by("-id").values_list("study_instance_uid", "patient_id"))
