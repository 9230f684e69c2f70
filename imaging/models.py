"""DICOM nodes of the affiliated organisations, and the index of what their KOS manifests reference.

A KOS manifest (XDS-I.b, RAD TF-3 4.68.4.1.2) names a study's series and instances and where to
retrieve them (Retrieve AE Title, Retrieve Location UID). The index keeps those references in
rows, so listing a patient's studies or resolving a RAD-69 request never re-reads a manifest.
"""

from __future__ import annotations

from django.db import models


class DicomNode(models.Model):
    """A DICOM application entity of an organisation: its PACS, which the node queries and
    retrieves from (C-FIND, C-GET, C-MOVE), or a workstation it sends to."""

    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE,
                                     related_name="dicom_nodes")
    ae_title = models.CharField("AE title", max_length=16, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    description = models.CharField(max_length=200, blank=True)
    # PS3.4 C.4.3 (C-GET) keeps the node out of the PACS's list of move destinations; C-MOVE
    # needs the PACS to know the node's own AE title, host and port.
    RETRIEVE_C_GET = "C-GET"
    RETRIEVE_C_MOVE = "C-MOVE"
    retrieve_method = models.CharField(max_length=8, default=RETRIEVE_C_GET,
                                       choices=[(RETRIEVE_C_GET, "C-GET"), (RETRIEVE_C_MOVE, "C-MOVE")])
    # The Retrieve Location UID (0040,E011) by which manifests name this node's repository
    # (RAD TF-3 4.69.4.1.2), when the manifests carry one.
    retrieve_location_uid = models.CharField("Retrieve Location UID", max_length=64, blank=True,
                                             db_index=True)
    # Roles (issue: outside priors): a query/retrieve source is asked for studies (C-FIND) and
    # ordered to move them (C-MOVE); a move destination is a site's PACS the priors go to.
    is_source = models.BooleanField("query/retrieve source", default=True)
    is_destination = models.BooleanField("move destination", default=False)
    tls = models.BooleanField("TLS", default=False)  # PS3.15 B.1: the association over TLS
    # WAN links to a site's PACS take few associations at once (dcm4chee-arc's default is 1-4).
    max_associations = models.PositiveSmallIntegerField(default=2)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organisation", "ae_title"]
        verbose_name = "DICOM node"

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


class ManifestStudy(models.Model):
    """One study a registered KOS manifest references (RAD TF-3 4.68.4.1.2.3)."""

    # The manifest's DocumentEntry: its entryUUID and uniqueId (and its repository).
    document_entry_uuid = models.CharField(max_length=64, db_index=True)
    document_unique_id = models.CharField(max_length=128, db_index=True)
    repository_unique_id = models.CharField(max_length=64)
    patient_id = models.CharField(max_length=256, db_index=True)  # the affinity-domain ID
    study_instance_uid = models.CharField(max_length=64, db_index=True)
    accession_number = models.CharField(max_length=64, blank=True)
    study_date = models.CharField(max_length=8, blank=True)  # DA, YYYYMMDD
    study_description = models.CharField(max_length=64, blank=True)
    modalities = models.CharField(max_length=128, blank=True)  # space-separated, e.g. "CT SR"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "manifest studies"
        constraints = [
            models.UniqueConstraint(fields=["document_entry_uuid", "study_instance_uid"],
                                    name="one_study_per_manifest")
        ]

    def __str__(self) -> str:
        return self.study_instance_uid


class ManifestSeries(models.Model):
    study = models.ForeignKey(ManifestStudy, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64, db_index=True)
    modality = models.CharField(max_length=16, blank=True)
    retrieve_ae_title = models.CharField(max_length=16, blank=True)  # (0008,0054)
    retrieve_location_uid = models.CharField(max_length=64, blank=True)  # (0040,E011)

    class Meta:
        verbose_name_plural = "manifest series"

    def __str__(self) -> str:
        return self.series_instance_uid


class ManifestInstance(models.Model):
    series = models.ForeignKey(ManifestSeries, on_delete=models.CASCADE, related_name="instances")
    sop_class_uid = models.CharField(max_length=64)
    sop_instance_uid = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return self.sop_instance_uid


from imaging.prefetch.models import PrefetchJob, PrefetchStudy, RelevantPriorRule  # noqa: E402

__all__ = ["DicomNode", "ManifestInstance", "ManifestSeries", "ManifestStudy", "PrefetchJob",
           "PrefetchStudy", "RelevantPriorRule"]
