"""Periodic tasks of the node's own upkeep."""

from celery import shared_task

from ops.services import heartbeat_record


@shared_task(name="ops.tasks.heartbeat")
def heartbeat() -> None:
    # Scheduled by beat and run by a worker: a fresh beat proves broker, beat and worker alive.
    heartbeat_record(process="worker")
