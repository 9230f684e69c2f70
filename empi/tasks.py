"""Celery tasks of the EMPI: thin interfaces over empi.notify (ITI-10 and ITI-46 PIX Update
Notification)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from empi import notify


@shared_task(name="empi.tasks.pix_update_notify", acks_late=True)
def pix_update_notify(person_id: int) -> int:
    """Fired on commit of a link: one send per active consumer, each retried on its own."""
    consumers = notify.consumers_active()
    for consumer_id in consumers:
        pix_update_send.delay(consumer_id, person_id)
    return len(consumers)


# A consumer that cannot be reached is tried again with a growing backoff (up to ten minutes
# apart, about an hour in all); a consumer that answers AE or AR is audited, not retried.
@shared_task(bind=True, name="empi.tasks.pix_update_send", acks_late=True, autoretry_for=(OSError,),
             retry_backoff=5, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def pix_update_send(self: Task[Any, Any], consumer_id: int, person_id: int) -> str:
    try:
        return notify.pix_update_send(consumer_id=consumer_id, person_id=person_id)
    except OSError as exc:
        tries = self.request.retries + 1
        if self.max_retries is not None and tries > self.max_retries:
            # The last try: the failure would otherwise leave no trace but the worker's log.
            notify.pix_update_unreachable(consumer_id=consumer_id, person_id=person_id, tries=tries,
                                          error=f"{type(exc).__name__}: {exc}")
        raise
