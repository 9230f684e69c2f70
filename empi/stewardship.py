"""Domain: the data steward's merges of whole persons, and their undoing, from the console.

ADT^A40 (services.person_merge) names records; a steward picks persons. Both move records with a
LinkEvent whose reason is MERGE, which is what an unmerge reads back. Each service runs in one
transaction and audits each record it moves as a steward's update (services._audit_steward).
"""

from __future__ import annotations

from django.db import transaction

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from empi.models import LinkEvent, PatientRecord, Person
from empi.selectors import person_current
from empi.services import RECEIVER, _audit_steward, _link_event, _person_merge
from registry import services as registry

MERGE = "merge"  # the LinkEvent reason services._person_merge writes
UNMERGE = "unmerge"


class StewardshipError(ValueError):
    """A steward's request that does not apply to these persons (shown to the steward)."""


def persons_merge(*, survivor: Person, subsumed: Person, actor: str) -> Person:
    """Every record of `subsumed` moves to `survivor`, and the registry's patient ID of the one is
    merged into the other's (DESIGN.md, Identities). Returns the survivor."""
    with transaction.atomic():
        locked = {p.pk: p for p in Person.objects.select_for_update().filter(
            pk__in=[survivor.pk, subsumed.pk])}
        survivor, subsumed = locked[survivor.pk], locked[subsumed.pk]
        if survivor.pk == subsumed.pk:
            raise StewardshipError("a person cannot be merged into itself")
        if survivor.merged_into_id is not None or subsumed.merged_into_id is not None:
            raise StewardshipError("only persons not merged already can be merged")
        moved = list(PatientRecord.objects.select_related("authority").filter(person=subsumed))
        _person_merge(subsumed, survivor, actor=actor)
        for record in moved:
            _audit_steward(record, [survivor.enterprise_id, subsumed.enterprise_id], actor=actor)
        if not moved:
            _audit_persons([survivor.enterprise_id, subsumed.enterprise_id], actor=actor)
    return survivor


def person_unmerge(*, person: Person, actor: str) -> list[PatientRecord]:
    """Undo the merge of `person` into another: the records that merge moved, and that still sit
    on the person it was merged into, come back; `person` is current again, and so is its patient
    ID in the registry. A record a steward linked elsewhere since stays where it is. Returns the
    records restored."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if person.merged_into_id is None:
            raise StewardshipError("this person is not merged into another")
        survivor = Person.objects.get(pk=person.merged_into_id)
        # The records where they are now: on the survivor, or on whoever it was merged into since.
        holders = {survivor.pk, person_current(survivor).pk}
        latest: dict[int, LinkEvent] = {}
        for event in LinkEvent.objects.filter(previous_person=person, reason=MERGE).order_by("at", "id"):
            latest[event.record_id] = event
        restored = []
        records = (PatientRecord.objects.select_for_update().select_related("authority")
                   .filter(pk__in=latest, person_id__in=holders))
        for record in records:
            previous = record.person
            record.person = person
            record.save(update_fields=["person", "updated_at"])
            _link_event(record, person, previous, method=LinkEvent.MANUAL, actor=actor, reason=UNMERGE)
            _audit_steward(record, [person.enterprise_id, previous.enterprise_id], actor=actor)
            restored.append(record)
        if not restored:
            # Nothing moved back, the persons were still told apart: the steward's act is recorded.
            _audit_persons([person.enterprise_id, survivor.enterprise_id], actor=actor)
        person.merged_into = None
        person.save(update_fields=["merged_into"])
        registry.patient_identity_unmerge(subsumed=person.enterprise_id, source=actor)
    return restored


def _audit_persons(enterprise_ids: list[str], *, actor: str) -> None:
    """A steward's change of persons that moved no record: audited as _audit_steward does."""
    audit.record(patient_record(
        transaction="ITI-8", action="U", sender=this_node("EMPI steward"), receiver=this_node(RECEIVER),
        human_requestor=Peer(user_id=actor), patient_ids=enterprise_ids))
