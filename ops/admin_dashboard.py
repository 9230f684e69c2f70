"""The console's front page: the exchange's health in tiles (ops.dashboard) above the app list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from imaging.prefetch.models import PrefetchJob
from ops.dashboard import dashboard_for

_index = admin.site.index


def dashboard_index(request: HttpRequest, extra_context: dict[str, Any] | None = None
                    ) -> TemplateResponse:
    """The stock admin index, with the figures this user's role covers and where they lead."""
    jobs = reverse("admin:imaging_prefetchjob_changelist")
    context = {
        "dashboard": dashboard_for(user=request.user),
        "jobs_url": {status: f"{jobs}?status__exact={status}"
                     for status in (PrefetchJob.QUEUED, PrefetchJob.RUNNING, PrefetchJob.FAILED)},
        "reviews_url": reverse("admin:empi_reviewitem_changelist") + "?status=open",
        "audit_url": reverse("admin:audit_auditevent_changelist"),
        **(extra_context or {}),
    }
    return _index(request, extra_context=context)


admin.site.index_template = "ops/dashboard.html"
# AdminSite.get_urls wraps `self.index` when the URLconf is first read, after every admin module
# is imported: this instance attribute is the one it finds.
admin.site.index = dashboard_index  # type: ignore[method-assign]
