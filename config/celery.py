"""The Celery app: tasks run in the real worker, beat schedules the periodic ones."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hienode")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.HEARTBEAT_SECONDS), sender.signature("ops.tasks.heartbeat"), name="heartbeat"
    )
    # The safety net under on-commit forwarding: a record whose kick was lost still goes.
    sender.add_periodic_task(
        float(settings.AUDIT_FORWARD_SECONDS), sender.signature("audit.tasks.forward_audit_events"),
        name="audit forwarding",
    )
