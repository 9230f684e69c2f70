"""Periodic jobs of the repository."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from repository import services


@shared_task(name="repository.tasks.remove_orphans")
def remove_orphans() -> int:
    """Bytes a submission wrote before its process died, which no committed row names."""
    return services.orphans_remove(older_than_seconds=settings.REPOSITORY_ORPHAN_SECONDS)
