"""What every page of the operators' console shares: who is acting, and the audit record of what
they did (PS3.15 A.5.3: a change of the node's configuration is a Security Alert of its CID 403
type, reading the trail is Audit Log Used, signing in is User Authentication)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from audit import events
from audit.services import record, record_alone


def actor(request: HttpRequest) -> events.Peer:
    """The signed-in person and the address they came from (NetworkAccessPointID)."""
    username = request.user.get_username() if getattr(request, "user", None) else ""
    return events.Peer(user_id=username or "anonymous", host=request.META.get("REMOTE_ADDR", ""))


def console_change(request: HttpRequest, *, type_code: str, description: str, subject: str = "",
                   organisation: str = "") -> None:
    """An operator changed what the node trusts, talks to or does: recorded in the caller's
    transaction, so the record commits with the change or not at all."""
    record(events.security_alert(
        type_code=type_code, outcome=0, description=description[:1000], performer=actor(request),
        subject=subject[:1024], subject_type="uri" if subject else "node",
    ), organisation=organisation)


def audit_log_read(request: HttpRequest, *, action_code: str = "R", description: str = "") -> None:
    """Someone read (R) or exported (E) part of the audit trail: the page and its query."""
    record_alone(events.audit_log_used(
        user=actor(request), log_uri=request.get_full_path(), description=description[:1000],
        action_code="E" if action_code == "E" else "R"))


@receiver(user_logged_in, dispatch_uid="ops.console.logged_in")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    if request is not None:
        # The user argument, not request.user: login() may not have set it yet.
        record_alone(events.user_authentication(
            user=events.Peer(user_id=user.get_username(), host=request.META.get("REMOTE_ADDR", "")),
            event="login", outcome_description=f"signed in at {request.path}"))


@receiver(user_logged_out, dispatch_uid="ops.console.logged_out")
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    if request is not None and user is not None:
        record_alone(events.user_authentication(
            user=events.Peer(user_id=user.get_username(), host=request.META.get("REMOTE_ADDR", "")),
            event="logout", outcome_description=f"signed out at {request.path}"))


@receiver(user_login_failed, dispatch_uid="ops.console.login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                  **_: Any) -> None:
    # The username typed is kept (it is who tried), never the password (Django masks it anyway).
    username = str(credentials.get("username", ""))[:150] or "unknown"
    host = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    record_alone(events.user_authentication(
        user=events.Peer(user_id=username, host=host), event="login", outcome=4,
        outcome_description="sign-in refused: wrong username or password"))
