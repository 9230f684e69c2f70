"""PIX Update Notification to the subscribed PIX consumers: ADT^A31 over MLLP (ITI-10, ITI TF-2a
3.10) or PRPA_IN201302UV02 over SOAP (ITI-46, ITI TF-2b 3.46, written by `empi.notify_v3`).

A LinkEvent means a record's person changed; once its transaction commits, `empi.tasks` sends
each active consumer the person's identifiers in the domains it subscribed to. `mllp_send` is
the one seam through which the EMPI talks MLLP to the outside.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from audit.records import AuditRecord
from empi import notify_v3, services
from empi.handlers.v2.wire import peer_name
from empi.models import LinkEvent, PatientRecord, Person, PixConsumer
from empi.selectors import person_current
from mllp.ack import new_control_id
from mllp.framing import END_OF_FRAME, START_BLOCK, frame
from organisations.models import AssigningAuthority

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "ADT^A31^ADT_A05"  # ITI TF-2a 3.10.4.1.2
SEND_TIMEOUT_SECONDS = 30.0
ACCEPTED = ("AA", "CA")


class NoAcknowledgment(ConnectionError):
    """The consumer closed the connection, or sent no MLLP frame, before acknowledging."""


def link_event_saved(sender: type[LinkEvent], instance: LinkEvent, created: bool, **kwargs: Any) -> None:
    """post_save of LinkEvent: the persons the record left and joined are notified on commit."""
    if not created or kwargs.get("raw"):
        return
    person_ids = sorted({pk for pk in (instance.person_id, instance.previous_person_id) if pk})
    transaction.on_commit(lambda: _enqueue(person_ids))


def _enqueue(person_ids: Sequence[int]) -> None:
    if not PixConsumer.objects.filter(active=True).exists():
        return
    from empi.tasks import pix_update_notify

    for person_id in person_ids:
        try:
            pix_update_notify.delay(person_id)
        except Exception as exc:  # the broker may be down: the feed itself has committed
            logger.error("PIX update notification not enqueued: %s", type(exc).__name__)


def consumers_active() -> list[int]:
    return list(PixConsumer.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))


def pix_update_send(*, consumer_id: int, person_id: int) -> str:
    """Sends one consumer the notification of one person; returns the acknowledgement code it
    answered (MSA-1, or acknowledgement/typeCode over HL7 v3), or "" when there was nothing to
    send (consumer inactive, no identifier in its domains).
    Raises OSError when the consumer cannot be reached: the task retries."""
    consumer = PixConsumer.objects.select_related("organisation").filter(pk=consumer_id).first()
    person = Person.objects.filter(pk=person_id).first()
    if consumer is None or not consumer.active or person is None:
        return ""
    identifiers = notification_identifiers(person=person_current(person),
                                           domains=list(consumer.domains.all()))
    if not identifiers:
        return ""
    if consumer.protocol == PixConsumer.HL7V3:
        message_id = str(uuid.uuid4())
        code = notify_v3.pix_update_notify(endpoint=consumer.endpoint, identifiers=identifiers,
                                           receiver_device=consumer.receiving_application,
                                           message_id=message_id)
        refusal = f"the consumer answered {code or 'a SOAP fault'}"
    else:
        message_id = new_control_id()
        message = adt_a31(consumer=consumer, identifiers=identifiers, control_id=message_id)
        reply = mllp_send(host=consumer.host, port=consumer.port or 0, message=message.encode())
        code = _acknowledgment_code(reply)
        refusal = f"the consumer answered {code or 'no MSA'}"
    accepted = code in ACCEPTED
    with transaction.atomic():
        audit.record(_notification_record(
            consumer=consumer, identifiers=identifiers, message_id=message_id,
            outcome=0 if accepted else 4, outcome_description="" if accepted else refusal))
    return code


def pix_update_unreachable(*, consumer_id: int, person_id: int, tries: int, error: str) -> None:
    """The consumer could not be reached after the last try: nobody will try again, so the audit
    trail keeps the notification it did not get, a serious failure (PS3.15 A.5.3, outcome 8)."""
    consumer = PixConsumer.objects.select_related("organisation").filter(pk=consumer_id).first()
    person = Person.objects.filter(pk=person_id).first()
    if consumer is None:
        return
    identifiers = (notification_identifiers(person=person_current(person),
                                            domains=list(consumer.domains.all()))
                   if person is not None else [])
    with transaction.atomic():
        audit.record(_notification_record(
            consumer=consumer, identifiers=identifiers, message_id="", outcome=8,
            outcome_description=f"{consumer} could not be reached in {tries} tries: {error}"[:1024]))


def _notification_record(*, consumer: PixConsumer, identifiers: Sequence[tuple[AssigningAuthority, str]],
                         message_id: str, outcome: int, outcome_description: str) -> AuditRecord:
    # ITI TF-2a 3.10.5.1, ITI TF-2b 3.46.5.1: the PIX Manager as source, the consumer as destination.
    if consumer.protocol == PixConsumer.HL7V3:
        receiver = Peer(user_id=consumer.endpoint, host=urlsplit(consumer.endpoint).hostname or "")
    else:
        receiver = Peer(user_id=peer_name(consumer.receiving_application, consumer.receiving_facility),
                        host=consumer.host)
    return patient_record(
        transaction=consumer.transaction, action="R", sender=this_node(services.RECEIVER),
        receiver=receiver,
        patient_ids=[f"{identifier}^^^{authority.cx4}" for authority, identifier in identifiers],
        message_id=message_id, outcome=outcome, outcome_description=outcome_description)


def notification_identifiers(*, person: Person, domains: Sequence[AssigningAuthority]
                             ) -> list[tuple[AssigningAuthority, str]]:
    """The person's current identifiers in `domains`, with the enterprise ID when the affinity
    domain is one of them (ITI TF-2a 3.10.4.1.2: only the domains the consumer wants)."""
    wanted = {d.pk for d in domains}
    found: list[tuple[AssigningAuthority, str]] = [
        (record.authority, record.identifier)
        for record in PatientRecord.objects.select_related("authority")
        .filter(person=person, merged_into__isnull=True, authority_id__in=wanted)
        .order_by("authority_id", "identifier")]
    affinity = next((d for d in domains if d.is_affinity_domain), None)
    if affinity is not None:
        found.append((affinity, person.enterprise_id.split("^", 1)[0]))
    return found


def adt_a31(*, consumer: PixConsumer, identifiers: Sequence[tuple[AssigningAuthority, str]],
            control_id: str) -> str:
    """ADT^A31 of ITI TF-2a 3.10.4.1.2, HL7 v2.5: MSH, EVN, PID with the identifiers, PV1."""
    now = timezone.localtime().strftime("%Y%m%d%H%M%S%z")
    pid3 = "~".join(f"{_escape(identifier)}^^^{_escape(authority.namespace_id)}&"
                    f"{_escape(authority.universal_id)}&{_escape(authority.universal_id_type)}"
                    for authority, identifier in identifiers)
    segments = [
        # MSH-3 and MSH-4 are HDs whose settings already carry their ^ between components.
        "|".join(["MSH", "^~\\&", settings.MLLP_SENDING_APPLICATION,
                  settings.MLLP_SENDING_FACILITY, _escape(consumer.receiving_application),
                  _escape(consumer.receiving_facility), now, "", MESSAGE_TYPE, control_id, "P", "2.5"]),
        f"EVN||{now}",
        # PID-5 is required by HL7 but says nothing here: one empty name of type S, as in ITI-9.
        f"PID|||{pid3}||~^^^^^^S",
        "PV1||N",  # patient class N, not applicable: the notification is about no visit
    ]
    return "\r".join(segments) + "\r"


def mllp_send(*, host: str, port: int, message: bytes, timeout: float = SEND_TIMEOUT_SECONDS) -> bytes:
    """One message over MLLP (HL7 v2.5 appendix C) on a connection of its own; the reply
    without its framing. Raises OSError (NoAcknowledgment among them) when none comes back."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(frame(message))
        received = b""
        while END_OF_FRAME not in received:
            chunk = connection.recv(65536)
            if not chunk:
                raise NoAcknowledgment("the consumer closed the connection before acknowledging")
            received += chunk
    start = received.find(START_BLOCK)
    return received[start + 1: received.index(END_OF_FRAME)]


def _acknowledgment_code(reply: bytes) -> str:
    for segment in reply.decode("utf-8", errors="replace").replace("\n", "\r").split("\r"):
        if segment.startswith("MSA"):
            fields = segment.split(segment[3:4] or "|")
            return fields[1] if len(fields) > 1 else ""
    return ""


def _escape(text: str) -> str:
    # HL7 v2.5 2.7.4 with the encoding characters this message declares.
    return (text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
            .replace("&", "\\T\\").replace("~", "\\R\\"))
