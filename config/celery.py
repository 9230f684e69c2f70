"""The Celery app: tasks run in the real worker, beat schedules the periodic ones."""

import os

from celery import Celery

from config import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
broker.install()

app = Celery("hienode")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks of packages inside an app, which autodiscovery (app.tasks only) does not look into.
app.autodiscover_tasks(["imaging.prefetch"])
app.autodiscover_tasks(["imaging.prefetch"], related_name="triggers")  # study arrived at a PACS


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
    # The chain walked end to end, its result kept for the console (a walk reads every row).
    sender.add_periodic_task(
        float(settings.AUDIT_VERIFY_SECONDS), sender.signature("audit.tasks.verify_audit_chain"),
        name="audit chain verification",
    )
    # A prefetch job whose task message was lost is sent again (imaging.prefetch.services).
    sender.add_periodic_task(
        float(settings.PREFETCH_RESEND_SECONDS) / 3, sender.signature("imaging.prefetch.resend_stale_jobs"),
        name="prefetch job resend",
    )
    # ITI TF-2b 3.41.4.1.3, all or nothing: bytes of submissions whose process died are removed.
    sender.add_periodic_task(
        float(settings.REPOSITORY_ORPHAN_SECONDS) / 4, sender.signature("repository.tasks.remove_orphans"),
        name="repository orphan cleanup",
    )
