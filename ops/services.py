"""Writes of the node's upkeep."""

from django.utils import timezone

from ops.models import Heartbeat


def heartbeat_record(*, process: str) -> None:
    Heartbeat.objects.update_or_create(process=process, defaults={"beat_at": timezone.now()})
