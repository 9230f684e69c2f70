"""Celery tasks of the audit trail: thin interfaces over audit.forwarding."""

from celery import Task, shared_task

from audit.forwarding import forward_pending


@shared_task(name="audit.tasks.forward_audit_events", bind=True, max_retries=None,
             acks_late=True)
def forward_audit_events(self: Task) -> dict[str, int]:
    result = forward_pending()
    if result.error:
        # Exponential backoff up to five minutes; beat's safety net runs besides.
        raise self.retry(countdown=min(300, 2 ** min(self.request.retries, 8)))
    return {"sealed": result.sealed, "sent": result.sent}
