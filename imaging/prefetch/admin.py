"""The operators' view of prefetch jobs: what is queued, running and failed (with why), each
job's studies with their progress, and retry and cancel going through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from imaging.prefetch import services
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from ops.admin import ReadOnlyAdmin, ReadOnlyInline

CHANGE_JOB = "imaging.change_prefetchjob"  # the actions' permission: rows are never edited as forms


class StudyInline(ReadOnlyInline):
    model = PrefetchStudy
    fields = readonly_fields = ("study_instance_uid", "study_date", "modalities", "site", "source",
                                "status", "progress", "at_destination", "attempts", "error")

    @admin.display(description="progress")
    def progress(self, study: PrefetchStudy) -> str:
        # PS3.4 C.4.2.1.4: the sub-operation counts the source last reported.
        expected = study.expected or study.completed + study.failed + study.warning + study.remaining
        text = f"{study.completed}/{expected or '?'}"
        if study.failed or study.warning:
            text += f" ({study.failed} failed, {study.warning} warning)"
        return text


@admin.register(PrefetchJob)
class PrefetchJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "priority", "organisation", "patient_identifier", "destination",
                    "trigger", "attempts", "created_at", "short_reason"]
    list_filter = ["status", "priority", "trigger", "organisation", "created_at"]
    search_fields = ["patient_identifier", "enterprise_id", "order_reference",
                     "studies__study_instance_uid"]
    readonly_fields = ["organisation", "destination", "patient_authority", "patient_identifier",
                       "enterprise_id", "trigger", "priority", "status", "reason", "requested_by",
                       "order_reference", "order_modality", "attempts", "max_attempts", "created_at",
                       "updated_at", "finished_at"]
    inlines = [StudyInline]
    actions = ["retry_jobs", "cancel_jobs"]
    list_select_related = ["organisation", "destination"]

    @admin.display(description="reason")
    def short_reason(self, job: PrefetchJob) -> str:
        return job.reason if len(job.reason) <= 120 else job.reason[:117] + "..."

    def has_operate_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(CHANGE_JOB))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None
                        ) -> HttpResponse:
        """The job health summary above the list: queue depth, running, failed."""
        totals = PrefetchJob.objects.aggregate(
            queued=Count("pk", filter=Q(status=PrefetchJob.QUEUED)),
            running=Count("pk", filter=Q(status=PrefetchJob.RUNNING)),
            failed=Count("pk", filter=Q(status=PrefetchJob.FAILED)))
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
                    "failed", "at_destination", "attempts", "error"]
    list_filter = ["status", "site", "source"]
    search_fields = ["study_instance_uid", "job__patient_identifier"]
    list_select_related = ["job", "site", "source"]

