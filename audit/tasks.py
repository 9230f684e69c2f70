"""Celery tasks of the audit trail: thin interfaces over audit.forwarding."""

from celery import shared_task

from audit.forwarding import forward_pending


@shared_task(name="audit.tasks.forward_audit_events", acks_late=True)
def forward_audit_events() -> dict[str, int | str]:
    """Fired on commit of each audit record (at most twice a second per process) and by beat.

    No retry of its own: after a failure audit.forwarding holds every forwarder off with a
    growing backoff, and beat's next run is the retry. Retrying here as well would start one
    retry chain per kick while the repository is down.
    """
    result = forward_pending()
    return {"sealed": result.sealed, "sent": result.sent, "error": result.error}


@shared_task(name="audit.tasks.verify_audit_chain")
def verify_audit_chain() -> dict[str, int | bool]:
    """Beat's walk of the whole chain (every AUDIT_VERIFY_SECONDS), its result kept for the
    console's chain status."""
    from audit.selectors import chain_verify
    from audit.services import chain_verification_keep

    report = chain_verify()
    chain_verification_keep(report=report, verified_by="beat")
    return {"intact": report.ok, "checked": report.checked, "unsealed": report.unsealed}
