"""Relevant-prior rules, prefetch jobs and the studies each job moves.

A job belongs to the site that asked (by an order, a study arriving at its PACS, or its
radiologist) and names the PACS the priors go to. Each study of a job is a transfer of its own:
C-MOVEd from the owning site's PACS straight to the destination (PS3.4 C.4.2), counted as the
sub-operations report back, and checked at the destination afterwards.

The rows are the jobs' memory: a worker killed mid-move leaves them as they were, and the next
attempt reads how far they got (attempts counted here, so a job that keeps killing its worker
stops after `max_attempts`).
"""

from __future__ import annotations

from django.db import models


class RelevantPriorRule(models.Model):
    """Which of a patient's outside studies are relevant to a new order (dcm4chee-arc's prefetch
    rules): by the order's modality, the priors' modality and body part, a look-back window and
    how many priors, for one ordering site or every site."""

    name = models.CharField(max_length=100)
    # None: the rule applies to orders from every site.
    ordering_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE,
                                              null=True, blank=True, related_name="prior_rules")
    # Space-separated DICOM modality codes (PS3.3 C.7.3.1.1.1); empty matches any.
    order_modalities = models.CharField(max_length=128, blank=True)
    prior_modalities = models.CharField(max_length=128, blank=True)
    # Space-separated Body Part Examined values (0018,0015), e.g. "CHEST ABDOMEN"; empty: any.
    body_parts = models.CharField(max_length=256, blank=True)
    lookback_days = models.PositiveIntegerField(default=5 * 365)
    max_priors = models.PositiveSmallIntegerField(default=3)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PrefetchJob(models.Model):
    """One request to bring a patient's outside priors to a site's PACS."""

    ORDER, STUDY, RADIOLOGIST = "order", "study", "radiologist"
    TRIGGERS = [(ORDER, "HL7 order"), (STUDY, "study arrived"), (RADIOLOGIST, "radiologist")]
    STAT, ROUTINE = 0, 1  # lower runs first
    PRIORITIES = [(STAT, "stat"), (ROUTINE, "routine")]
    QUEUED, RUNNING, DONE, PARTIAL, FAILED, CANCELLED = (
        "queued", "running", "done", "partial", "failed", "cancelled")
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, DONE, PARTIAL, FAILED, CANCELLED)]
    FINISHED = (DONE, PARTIAL, FAILED, CANCELLED)

    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE,
                                     related_name="prefetch_jobs")  # the site that asked
    destination = models.ForeignKey("imaging.DicomNode", on_delete=models.PROTECT,
                                    related_name="prefetch_jobs")
    # The patient as the asking site knows them (its MRN), and the enterprise ID behind it.
    patient_authority = models.ForeignKey("organisations.AssigningAuthority", on_delete=models.PROTECT,
                                          related_name="+")
    patient_identifier = models.CharField(max_length=64)
    enterprise_id = models.CharField(max_length=256, blank=True, db_index=True)
    trigger = models.CharField(max_length=16, choices=TRIGGERS)
    priority = models.PositiveSmallIntegerField(choices=PRIORITIES, default=ROUTINE)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED, db_index=True)
    reason = models.TextField(blank=True)  # why it failed or was cancelled, for a person to read
    requested_by = models.CharField(max_length=150, blank=True)  # user name, or the HL7 sender
    order_reference = models.CharField(max_length=64, blank=True)  # accession or placer order
    order_modality = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "priority", "created_at"])]

    def __str__(self) -> str:
        return f"prefetch job {self.pk} ({self.status})"


class PrefetchStudy(models.Model):
    """One study of a job: where it is moved from, and how far the move got."""

    QUEUED, MOVING, DONE, PARTIAL, FAILED, PRESENT, CANCELLED = (
        "queued", "moving", "done", "partial", "failed", "present", "cancelled")
    STATUSES = [(s, s) for s in (QUEUED, MOVING, DONE, PARTIAL, FAILED, PRESENT, CANCELLED)]
    FINISHED = (DONE, PARTIAL, FAILED, PRESENT, CANCELLED)

    job = models.ForeignKey(PrefetchJob, on_delete=models.CASCADE, related_name="studies")
    study_instance_uid = models.CharField(max_length=64, db_index=True)
    study_date = models.CharField(max_length=8, blank=True)  # DA
    modalities = models.CharField(max_length=128, blank=True)
    description = models.CharField(max_length=64, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    site = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey("imaging.DicomNode", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED, db_index=True)
    # C-MOVE sub-operations (PS3.4 C.4.2.1.4): the last counts the source reported.
    expected = models.PositiveIntegerField(default=0)  # instances the source holds
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    warning = models.PositiveIntegerField(default=0)
    remaining = models.PositiveIntegerField(default=0)
    at_destination = models.PositiveIntegerField(default=0)  # counted there afterwards
    missing = models.TextField(blank=True)  # SOP Instance UIDs the source did not send
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)  # for a person to read
    started_at = models.DateTimeField(null=True, blank=True)
    # When the move last reported progress: a "moving" row whose worker died stops holding one
    # of its source's associations once this is old (see imaging.prefetch.engine).
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-study_date", "pk"]
        verbose_name_plural = "prefetch studies"
        constraints = [models.UniqueConstraint(fields=["job", "study_instance_uid"],
                                               name="one_transfer_per_study_and_job")]

    def __str__(self) -> str:
        return f"{self.study_instance_uid} ({self.status})"
