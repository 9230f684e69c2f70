"""Heartbeats that the node's processes write, read by the health check."""

from django.db import models


class Heartbeat(models.Model):
    """The last time a process showed it was alive and doing its work."""

    process = models.CharField(max_length=64, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.process} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
