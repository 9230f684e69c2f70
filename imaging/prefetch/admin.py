"""The operators' view of prefetch jobs: what is queued, running and failed (with why, in
words), each job's progress and its studies', and retry and cancel going through the services."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from imaging.prefetch import services
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from ops.admin import ReadOnlyAdmin, ReadOnlyInline

CHANGE_JOB = "imaging.change_prefetchjob"  # the actions' permission: rows are never edited as forms

# C-MOVE statuses in words (PS3.4 C.4.2.1.5, PS3.7 C): the engine writes the code, the console
# says what it means and keeps the code beside it.
MOVE_STATUSES = {
    0xA701: "refused: out of resources, unable to calculate the number of matches",
    0xA702: "refused: out of resources, unable to perform sub-operations",
    0xA801: "refused: the move destination is unknown to it",
    0xA900: "failed: the identifier does not match the SOP class",
    0xAA00: "failed: none of the frames requested were found",
    0x0122: "refused: the SOP class is not supported",
    0x0124: "refused: not authorised",
    0xB000: "finished with warnings: one or more sub-operations failed",
    0xFE00: "cancelled the move",
    # imaging.dicom.move.NO_RESPONSE (-1) as the engine writes it, masked to 16 bits.
    0xFFFF: "sent no final response (the association ended or timed out)",
}
_STATUS = re.compile(r"C-MOVE failed with status 0x([0-9A-Fa-f]{4})")
_UNREACHABLE = [
    (re.compile(r"(source|destination) unreachable: (\S+ at \S+?) rejected the association"),
     r"no association: the \1 \2 rejected it (does it know this node's AE title?)"),
    (re.compile(r"(source|destination) unreachable: (\S+ at \S+?) did not answer"),
     r"no association: the \1 \2 did not answer"),
    (re.compile(r"(source|destination) unreachable: (\S+ at \S+?): [^;]*(?:refused|Errno 111)[^;]*"),
     r"no association: nobody listens for the \1 \2"),
    (re.compile(r"(source|destination) unreachable: "), r"no association with the \1: "),
]


def move_status_in_words(status: int) -> str:
    if status in MOVE_STATUSES:
        return MOVE_STATUSES[status]
    if 0xC000 <= status <= 0xCFFF:
        return "failed: unable to process"
    return "answered with an unexpected status"


def in_words(error: str) -> str:
    """An error the prefetcher wrote, for a person: DICOM status codes and failed associations
    turned into words, the raw code kept in brackets."""
    text = _STATUS.sub(lambda m: f"the PACS {move_status_in_words(int(m[1], 16))} (0x{m[1].upper()})",
                       error)
    for pattern, words in _UNREACHABLE:
        text = pattern.sub(words, text)
    return text


def progress_bar(done: int, total: int, label: str) -> str:
    """An HTML <progress> with its numbers beside it (the stock admin look, no script)."""
    if not total:
        return format_html("<span>{}</span>", label)
    return format_html('<progress value="{}" max="{}" style="width: 7em;"></progress> {}',
                       min(done, total), total, label)


class StudyInline(ReadOnlyInline):
    model = PrefetchStudy
    fields = readonly_fields = ("study_instance_uid", "study_date", "modalities", "site", "source",
                                "status", "progress", "at_destination", "attempts", "error_in_words")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PrefetchStudy]:
        return super().get_queryset(request).select_related("site", "source")

    @admin.display(description="progress")
    def progress(self, study: PrefetchStudy) -> str:
        # PS3.4 C.4.2.1.4: the sub-operation counts the source last reported.
        expected = study.expected or study.completed + study.failed + study.warning + study.remaining
        text = f"{study.completed}/{expected or '?'} instances"
        if study.failed or study.warning:
            text += f" ({study.failed} failed, {study.warning} warning)"
        return progress_bar(study.completed, expected, text)

    @admin.display(description="error")
    def error_in_words(self, study: PrefetchStudy) -> str:
        return in_words(study.error)


_SUMMARY = (PrefetchJob.QUEUED, PrefetchJob.RUNNING, PrefetchJob.FAILED)


class JobChangeList(ChangeList):
    """The job list, with each shown job's progress read in one more query for the page (not
    per row, and not inside the capped count of the whole list)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        jobs: list[PrefetchJob] = list(self.result_list)
        finished = Q(status__in=PrefetchStudy.FINISHED)
        moving = Q(status=PrefetchStudy.MOVING)
        progress: dict[int, dict[str, Any]] = {row["job_id"]: dict(row) for row in PrefetchStudy.objects
                    .filter(job_id__in=[job.pk for job in jobs]).order_by().values("job_id")
                    .annotate(total=Count("pk"), finished=Count("pk", filter=finished),
                              # A job moves its studies one after the other: the running one's.
                              moving_completed=Sum("completed", filter=moving),
                              moving_expected=Sum("expected", filter=moving))}
        for job in jobs:
            row = progress.get(job.pk, {})
            for name, key in (("studies_total", "total"), ("studies_finished", "finished"),
                              ("moving_completed", "moving_completed"),
                              ("moving_expected", "moving_expected")):
                setattr(job, name, row.get(key) or 0)
        self.result_list = jobs


@admin.register(PrefetchJob)
class PrefetchJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "progress", "priority", "organisation", "patient_identifier",
                    "destination", "trigger", "attempts", "created_at", "short_reason"]
    list_filter = ["status", "priority", "trigger", "organisation", "created_at"]
    # Exact values: the ID as the site or the exchange knows it, the order, a study's UID.
    search_fields = ["=patient_identifier", "=enterprise_id", "=order_reference",
                     "=studies__study_instance_uid"]
    readonly_fields = ["organisation", "destination", "patient_authority", "patient_identifier",
                       "enterprise_id", "trigger", "priority", "status", "reason", "requested_by",
                       "reason_in_words", "order_reference", "order_modality", "attempts",
                       "max_attempts", "created_at", "updated_at", "finished_at"]
    inlines = [StudyInline]
    actions = ["retry_jobs", "cancel_jobs"]
    list_select_related = ["organisation", "destination"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return JobChangeList

    @admin.display(description="progress")
    def progress(self, job: PrefetchJob) -> str:
        total = getattr(job, "studies_total", None) or 0
        finished = getattr(job, "studies_finished", None) or 0
        label = f"{finished}/{total} studies"
        expected = getattr(job, "moving_expected", 0)
        if job.status == PrefetchJob.RUNNING and expected:
            label += f"; moving {getattr(job, 'moving_completed', 0)}/{expected} instances"
        return progress_bar(finished, total, label)

    @admin.display(description="reason")
    def short_reason(self, job: PrefetchJob) -> str:
        reason = in_words(job.reason)
        return reason if len(reason) <= 160 else reason[:157] + "..."

    @admin.display(description="reason, in words")
    def reason_in_words(self, job: PrefetchJob) -> str:
        return in_words(job.reason)

    def has_operate_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(CHANGE_JOB))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None
                        ) -> HttpResponse:
        """The job health summary above the list: queue depth, running, failed."""
        # One query on the status index, never a scan of every job ever made.
        counted = dict(PrefetchJob.objects.filter(status__in=_SUMMARY).order_by()
                       .values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        totals = {status: counted.get(status, 0) for status in _SUMMARY}
        title = (f"Prefetch jobs: {totals['queued']} queued, {totals['running']} running, "
                 f"{totals['failed']} failed")
        return super().changelist_view(request, {**(extra_context or {}), "title": title,
                                                 "prefetch_totals": totals})

    @admin.action(description="Retry the selected jobs", permissions=["operate"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[PrefetchJob]) -> None:
        self._each(request, queryset, services.job_retry, "retried")

    @admin.action(description="Cancel the selected jobs", permissions=["operate"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[PrefetchJob]) -> None:
        self._each(request, queryset, services.job_cancel, "cancelled")

    def _each(self, request: HttpRequest, queryset: QuerySet[PrefetchJob], action: Any,
              done: str) -> None:
        count = 0
        for job in queryset:
            try:
                action(job=job, actor=request.user.get_username())
                count += 1
            except services.PrefetchError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if count:
            self.message_user(request, f"{count} job(s) {done}.", messages.SUCCESS)


@admin.register(PrefetchStudy)
class PrefetchStudyAdmin(ReadOnlyAdmin):
    list_display = ["study_instance_uid", "job", "status", "site", "source", "expected", "completed",
                    "failed", "at_destination", "attempts", "error_in_words"]
    list_filter = ["status", "site", "source"]
    search_fields = ["=study_instance_uid", "=job__patient_identifier"]
    list_select_related = ["job", "site", "source"]

    @admin.display(description="error")
    def error_in_words(self, study: PrefetchStudy) -> str:
        return in_words(study.error)
