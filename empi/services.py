"""Domain: the EMPI's writes. Feeds match a record on arrival; merges, links and reviews move it.

Each service runs in one transaction and writes its audit record (Patient Record 110110) in it.
A person the EMPI creates is made known to the registry in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from empi.errors import UnknownRecord
from empi.matching.blocking import blocking_keys
from empi.matching.link import FEED_BLOCK_LIMIT, best_exact, candidate_totals, classify
from empi.matching.record import Demographics
from empi.matching.score import Score
from empi.matching.training import Parameters, parameters_prior
from empi.models import (
    BlockingKey,
    LinkEvent,
    MatchParameters,
    NotSamePerson,
    PatientRecord,
    Person,
    ReviewItem,
)
from empi.selectors import Candidate, affinity_authority, match_candidates, person_current
from organisations.models import AssigningAuthority
from registry import services as registry

RECEIVER = "EMPI"


@dataclass(frozen=True)
class FeedResult:
    """What a feed did: `outcome` is `linked` (to a known person), `new` (a new person), or
    `updated` (a record already known keeps its person). `review` is the item opened, if any."""

    record: PatientRecord
    person: Person
    outcome: str
    created: bool
    score: float | None = None
    review: ReviewItem | None = None
    weights: dict[str, float] = field(default_factory=dict)


def record_feed(*, authority: AssigningAuthority, identifier: str, demographics: Demographics,
                raw: dict[str, Any], source: str = "", source_host: str = "", message_id: str = "",
                transaction_name: str = "ITI-8", person: Person | None = None) -> FeedResult:
    """ITI TF-2a 3.8.4.1.3: create or update the record of `identifier` and match it.

    A new record joins the best-scoring candidate's person above EMPI_LINK_THRESHOLD; otherwise
    it gets a new person, and a candidate between the thresholds opens a review item. A record in
    the affinity domain's own authority is its person's enterprise ID (DESIGN.md, Identities).
    `person`, when given, is the person a new record joins without matching: another identifier
    of the same message named it. A known record keeps its person: links move only by merge or
    by a data steward; an update that now scores in the review band or above against another
    person opens a review item instead.
    """
    with transaction.atomic():
        record = (PatientRecord.objects.select_for_update().select_related("person", "authority")
                  .filter(authority=authority, identifier=identifier).first())
        created = record is None
        if record is not None:
            _set_demographics(record, demographics, raw)
            record.save()
            keys = _keys_refresh(record, demographics)
            result = FeedResult(record=record, person=person_current(record.person), outcome="updated",
                                created=False, review=_review_on_update(record, demographics, keys))
        elif authority.is_affinity_domain:
            result = _enterprise_record(authority, identifier, demographics, raw, source)
        elif person is not None:
            record = _record_create(authority, identifier, demographics, raw, person)
            _link_event(record, person, None, method=LinkEvent.AUTOMATIC, actor=source,
                        reason="named in the same message")
            result = FeedResult(record=record, person=person, outcome="linked", created=True)
        else:
            result = _match_new(authority, identifier, demographics, raw, source)
        audit.record(patient_record(
            transaction=transaction_name, action="C" if created else "U",
            sender=_sender(source, source_host), receiver=this_node(RECEIVER),
            patient_ids=[result.record.cx, result.person.enterprise_id], message_id=message_id))
    return result


def patient_feed(*, identifiers: Sequence[tuple[AssigningAuthority, str]], demographics: Demographics,
                 raw: dict[str, Any], source: str = "", source_host: str = "", message_id: str = "",
                 transaction_name: str = "ITI-8") -> list[FeedResult]:
    """One feed naming the patient by several identifiers (PID-3 repeats): the first is matched,
    the others join its person, all or nothing. An affinity-domain identifier goes first: it
    names the person itself."""
    ordered = sorted(identifiers, key=lambda pair: not pair[0].is_affinity_domain)
    for attempt in (1, 2):
        results: list[FeedResult] = []
        try:
            with transaction.atomic():
                for authority, identifier in ordered:
                    results.append(record_feed(
                        authority=authority, identifier=identifier, demographics=demographics,
                        raw=raw, source=source, source_host=source_host, message_id=message_id,
                        transaction_name=transaction_name,
                        person=results[0].person if results else None))
            return results
        except IntegrityError:
            # Another feed created one of these records first: once more, as an update.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def person_merge(*, surviving_authority: AssigningAuthority, surviving_identifier: str,
                 subsumed_authority: AssigningAuthority, subsumed_identifier: str,
                 demographics: Demographics | None = None, raw: dict[str, Any] | None = None,
                 source: str = "", source_host: str = "", message_id: str = "",
                 transaction_name: str = "ITI-8", actor: str = "") -> Person:
    """ITI TF-2a 3.8.4.2 (ADT^A40): the subsumed identifier (MRG-1) is merged into the surviving
    one (PID-3). The subsumed record's person, with all its records, moves into the survivor's
    person, and the registry's patient ID of the one is merged into the other's. Within one
    domain the subsumed record is retired: queries no longer find it. A surviving identifier not
    known yet takes over the subsumed record's person. Raises UnknownRecord for a subsumed
    identifier never fed. Returns the surviving person."""
    with transaction.atomic():
        subsumed = (PatientRecord.objects.select_for_update().select_related("person", "authority")
                    .filter(authority=subsumed_authority, identifier=subsumed_identifier,
                            merged_into__isnull=True).first())
        if subsumed is None:
            raise UnknownRecord("the subsumed identifier is not known")
        surviving = (PatientRecord.objects.select_for_update().select_related("person", "authority")
                     .filter(authority=surviving_authority, identifier=surviving_identifier).first())
        from_person = person_current(subsumed.person)
        if surviving is None:
            surviving = _record_create(surviving_authority, surviving_identifier,
                                       demographics or subsumed.demographics(), raw or {}, from_person)
            _link_event(surviving, from_person, None, method=LinkEvent.AUTOMATIC, actor=source,
                        reason="merge: the surviving identifier")
        elif demographics is not None:
            _set_demographics(surviving, demographics, raw or {})
            surviving.save()
            _keys_refresh(surviving, demographics)
        survivor = person_current(surviving.person)
        if from_person.pk != survivor.pk:
            _person_merge(from_person, survivor, actor=actor or source)
        if subsumed.authority_id == surviving.authority_id and subsumed.pk != surviving.pk:
            subsumed.merged_into = surviving
            subsumed.person = survivor
            subsumed.save(update_fields=["merged_into", "person", "updated_at"])
            ReviewItem.objects.filter(record=subsumed, status=ReviewItem.OPEN).update(
                status=ReviewItem.REJECTED, decided_by="merge", decided_at=timezone.now())
        sender = _sender(source, source_host)
        human = Peer(user_id=actor) if actor else None
        audit.record(patient_record(
            transaction=transaction_name, action="U", sender=sender, receiver=this_node(RECEIVER),
            patient_ids=[surviving.cx, survivor.enterprise_id], message_id=message_id,
            human_requestor=human))
        audit.record(patient_record(
            transaction=transaction_name, action="D", sender=sender, receiver=this_node(RECEIVER),
            patient_ids=[subsumed.cx, from_person.enterprise_id], message_id=message_id,
            human_requestor=human))
    return survivor


def record_remove(*, authority: AssigningAuthority, identifier: str, source: str = "",
                  source_host: str = "", message_id: str = "",
                  transaction_name: str = "ITI-104") -> Person:
    """PIXm 3.0 ITI TF-2 3.104.4.1 (DELETE Patient?identifier=...): the source withdraws its
    record of `identifier`. The row goes, with the identifiers merged into it and their blocking
    keys, link events and review items; the person stays (documents may name its enterprise ID)
    and the audit record keeps who had what. Raises UnknownRecord when no current record exists.
    Returns the person the record belonged to."""
    with transaction.atomic():
        record = (PatientRecord.objects.select_for_update().select_related("person", "authority")
                  .filter(authority=authority, identifier=identifier, merged_into__isnull=True).first())
        if record is None:
            raise UnknownRecord("the identifier is not known")
        person = person_current(record.person)
        removed = [record]
        while True:
            retired = list(PatientRecord.objects.select_for_update().select_related("authority")
                           .filter(merged_into__in=removed).exclude(pk__in=[r.pk for r in removed]))
            if not retired:
                break
            removed += retired
        patient_ids = [r.cx for r in removed] + [person.enterprise_id]
        # Retired identifiers first: each points at the one it was merged into (PROTECT).
        for gone in reversed(removed):
            gone.delete()
        audit.record(patient_record(
            transaction=transaction_name, action="D", sender=_sender(source, source_host),
            receiver=this_node(RECEIVER), patient_ids=patient_ids, message_id=message_id))
    return person


def record_link(*, record: PatientRecord, person: Person, actor: str, reason: str = "",
                score: float | None = None, weights: dict[str, float] | None = None) -> LinkEvent:
    """A data steward links `record` to `person` (a manual link), leaving its former person."""
    with transaction.atomic():
        record = PatientRecord.objects.select_for_update().select_related("person", "authority").get(
            pk=record.pk)
        person = person_current(person)
        previous = record.person
        record.person = person
        record.save(update_fields=["person", "updated_at"])
        event = _link_event(record, person, previous, method=LinkEvent.MANUAL, actor=actor,
                            reason=reason or "manual link", score=score, weights=weights)
        _audit_steward(record, [person.enterprise_id, previous.enterprise_id], actor=actor)
    return event


def record_unlink(*, record: PatientRecord, actor: str, reason: str = "") -> Person:
    """A data steward takes `record` off its person: it gets a new person of its own."""
    with transaction.atomic():
        record = PatientRecord.objects.select_for_update().select_related("person", "authority").get(
            pk=record.pk)
        previous = record.person
        person = _person_create()
        record.person = person
        record.save(update_fields=["person", "updated_at"])
        _link_event(record, person, previous, method=LinkEvent.MANUAL, actor=actor,
                    reason=reason or "manual unlink")
        _audit_steward(record, [person.enterprise_id, previous.enterprise_id], actor=actor)
    return person


def review_accept(*, item: ReviewItem, actor: str) -> LinkEvent:
    """The steward agrees: the record joins the candidate person."""
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        _review_decide(item, ReviewItem.ACCEPTED, actor)
        return record_link(record=item.record, person=item.candidate, actor=actor,
                           reason="review accepted", score=item.score, weights=item.weights)


def review_reject(*, item: ReviewItem, actor: str) -> NotSamePerson:
    """The steward disagrees: the two records are remembered as different people, so the pair
    is never proposed again."""
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().select_related("record__authority").get(pk=item.pk)
        _review_decide(item, ReviewItem.REJECTED, actor)
        first, second = sorted((item.record_id, item.candidate_record_id))
        pair, _ = NotSamePerson.objects.get_or_create(first_id=first, second_id=second,
                                                      defaults={"decided_by": actor})
        _audit_steward(item.record, [item.candidate.enterprise_id], actor=actor)
    return pair


def review_dismiss(*, item: ReviewItem, actor: str) -> ReviewItem:
    """The steward leaves things as they are: the record stays on its own person and the item
    closes, with nothing remembered (the pair may be proposed again if the records change)."""
    with transaction.atomic():
        item = (ReviewItem.objects.select_for_update()
                .select_related("record__authority", "candidate").get(pk=item.pk))
        _review_decide(item, ReviewItem.DISMISSED, actor)
        _audit_steward(item.record, [item.candidate.enterprise_id], actor=actor)
    return item


def parameters_active() -> Parameters:
    """The active trained parameters, or the matcher's priors before any training."""
    active = MatchParameters.objects.filter(active=True).first()
    return Parameters.from_dict(active.parameters) if active else parameters_prior()


def parameters_store(*, parameters: Parameters, activate: bool = True) -> MatchParameters:
    """Keep a new version of trained parameters; the active one is what feeds score with."""
    with transaction.atomic():
        latest = MatchParameters.objects.select_for_update().order_by("-version").first()
        if activate:
            MatchParameters.objects.filter(active=True).update(active=False)
        return MatchParameters.objects.create(version=(latest.version + 1) if latest else 1,
                                              parameters=parameters.to_dict(), active=activate)


# --- Matching a new record.

def _match_new(authority: AssigningAuthority, identifier: str, demographics: Demographics,
               raw: dict[str, Any], source: str) -> FeedResult:
    keys = blocking_keys(demographics)
    scored = _candidates_scored(demographics, keys)
    # A second record in the same authority is a duplicate MRN: a steward decides, never the feed.
    best = scored.best(lambda other: other.authority_id != authority.pk)
    if best is not None and _classify(best[0]) == "link":
        score, other = best
        person = _person_of(other)
        record = _record_create(authority, identifier, demographics, raw, person, keys=keys)
        _link_event(record, person, None, method=LinkEvent.AUTOMATIC, actor=source,
                    score=score.total, weights=score.weights, reason="matched on feed")
        return FeedResult(record=record, person=person, outcome="linked", created=True,
                          score=score.total, weights=dict(score.weights))
    candidate = scored.best()
    person = _person_create()
    record = _record_create(authority, identifier, demographics, raw, person, keys=keys)
    _link_event(record, person, None, method=LinkEvent.AUTOMATIC, actor=source,
                score=candidate[0].total if candidate else None, reason="no candidate linked")
    review = None
    # A candidate in the review band, or a duplicate MRN above the link threshold, waits for a steward.
    if candidate is not None and _classify(candidate[0]) != "new":
        score, other = candidate
        review = ReviewItem.objects.create(record=record, candidate=_person_of(other),
                                           candidate_record_id=other.pk, score=score.total,
                                           weights=dict(score.weights))
    return FeedResult(record=record, person=person, outcome="new", created=True,
                      score=candidate[0].total if candidate else None, review=review)


def _review_on_update(record: PatientRecord, demographics: Demographics,
                      keys: set[str]) -> ReviewItem | None:
    """An updated record scoring high against another person's record waits for a steward."""
    if ReviewItem.objects.filter(record=record, status=ReviewItem.OPEN).exists():
        return None
    found = _candidates_scored(demographics, keys, record=record).best(
        lambda other: other.person_id != record.person_id)
    if found is None or _classify(found[0]) == "new":
        return None
    score, other = found
    return ReviewItem.objects.create(record=record, candidate=_person_of(other),
                                     candidate_record_id=other.pk, score=score.total,
                                     weights=dict(score.weights))


def _classify(score: Score) -> str:
    return classify(score, link_threshold=settings.EMPI_LINK_THRESHOLD,
                    review_threshold=settings.EMPI_REVIEW_THRESHOLD)


@dataclass(frozen=True)
class _Scored:
    """A record's candidates with their totals: every candidate scored at once (the vectorised
    scorer), then score_pair again for the few that can be best, so a feed decides as score_pair
    on every candidate would, at a fraction of its cost."""

    demographics: Demographics
    candidates: list[Candidate]
    totals: list[float]
    parameters: Parameters

    def best(self, keep: Callable[[Candidate], bool] | None = None) -> tuple[Score, Candidate] | None:
        """The best-scoring candidate `keep` accepts (ties: the oldest record), with its Score."""
        found = best_exact(self.demographics, [(c, c.demographics) for c in self.candidates],
                           self.totals, self.parameters, keep=keep)
        return None if found is None else (found[1], found[0])


def _person_of(candidate: Candidate) -> Person:
    """The candidate record's person, following merges: read only for a link or a review."""
    return person_current(Person.objects.get(pk=candidate.person_id))


def _candidates_scored(demographics: Demographics, keys: set[str], *,
                       record: PatientRecord | None = None) -> _Scored:
    """Current records sharing a blocking key held by at most FEED_BLOCK_LIMIT records, scored."""
    candidates = match_candidates(keys, record=record, block_limit=FEED_BLOCK_LIMIT)
    parameters = parameters_active()
    totals = candidate_totals(demographics, [c.demographics for c in candidates], parameters)
    return _Scored(demographics, candidates, totals, parameters)


def _enterprise_record(authority: AssigningAuthority, identifier: str, demographics: Demographics,
                       raw: dict[str, Any], source: str) -> FeedResult:
    enterprise_id = f"{identifier}^^^&{authority.universal_id}&{authority.universal_id_type}"
    person = Person.objects.filter(enterprise_id=enterprise_id).first()
    created = person is None
    if person is None:
        person = Person.objects.create(enterprise_id=enterprise_id)
    registry.patient_identity_register(patient_id=person.enterprise_id)
    record = _record_create(authority, identifier, demographics, raw, person)
    _link_event(record, person, None, method=LinkEvent.AUTOMATIC, actor=source,
                reason="the affinity domain's own identifier")
    return FeedResult(record=record, person=person, outcome="new" if created else "linked",
                      created=True)


# --- Rows.

def _person_create() -> Person:
    """A new person with the next enterprise ID of the affinity domain, known to the registry."""
    authority = affinity_authority()
    suffix = f"^^^&{authority.universal_id}&{authority.universal_id_type}"
    # A unique placeholder until the row's id is known; the sequence is the row's id.
    person = Person.objects.create(enterprise_id=f"pending-{uuid.uuid4()}")
    number = str(person.pk)
    while Person.objects.filter(enterprise_id=f"{number}{suffix}").exists():
        number = f"{number}0"  # an ID a feed gave already (DESIGN.md, Identities)
    person.enterprise_id = f"{number}{suffix}"
    person.save(update_fields=["enterprise_id"])
    registry.patient_identity_register(patient_id=person.enterprise_id)
    return person


def _record_create(authority: AssigningAuthority, identifier: str, demographics: Demographics,
                   raw: dict[str, Any], person: Person, *, keys: set[str] | None = None) -> PatientRecord:
    record = PatientRecord(authority=authority, identifier=identifier, person=person)
    _set_demographics(record, demographics, raw)
    record.save()
    _keys_refresh(record, demographics, keys=keys)
    return record


def _set_demographics(record: PatientRecord, demographics: Demographics, raw: dict[str, Any]) -> None:
    for f in fields(Demographics):
        value = getattr(demographics, f.name)
        setattr(record, f.name, list(value) if isinstance(value, tuple) else value)
    record.raw = raw


def _keys_refresh(record: PatientRecord, demographics: Demographics, *,
                  keys: set[str] | None = None) -> set[str]:
    keys = blocking_keys(demographics) if keys is None else keys
    BlockingKey.objects.filter(record=record).delete()
    BlockingKey.objects.bulk_create([BlockingKey(record=record, key=key[:128]) for key in sorted(keys)])
    return keys


def _link_event(record: PatientRecord, person: Person, previous: Person | None, *, method: str,
                actor: str, reason: str = "", score: float | None = None,
                weights: dict[str, float] | None = None) -> LinkEvent:
    return LinkEvent.objects.create(record=record, person=person, previous_person=previous,
                                    score=score, method=method, weights=dict(weights or {}),
                                    actor=actor[:256], reason=reason[:256])


def _person_merge(subsumed: Person, survivor: Person, *, actor: str) -> None:
    """Every record of `subsumed` moves to `survivor`; the registry merges their patient IDs."""
    for record in PatientRecord.objects.select_for_update().filter(person=subsumed):
        record.person = survivor
        record.save(update_fields=["person", "updated_at"])
        _link_event(record, survivor, subsumed, method=LinkEvent.MANUAL if actor else LinkEvent.AUTOMATIC,
                    actor=actor, reason="merge")
    subsumed.merged_into = survivor
    subsumed.save(update_fields=["merged_into"])
    ReviewItem.objects.filter(Q(candidate=subsumed), status=ReviewItem.OPEN).update(candidate=survivor)
    registry.patient_identity_merge(subsumed=subsumed.enterprise_id, surviving=survivor.enterprise_id)


def _review_decide(item: ReviewItem, status: str, actor: str) -> None:
    if item.status != ReviewItem.OPEN:
        raise ValueError(f"the review item was {item.status} already")
    item.status, item.decided_by, item.decided_at = status, actor[:256], timezone.now()
    item.save(update_fields=["status", "decided_by", "decided_at"])


def _audit_steward(record: PatientRecord, enterprise_ids: list[str], *, actor: str) -> None:
    # A steward's change to a link is an update of the patient's record (PS3.15 A.5.3.14),
    # asked for by a person: the ITI-8 event type is the closest the standard defines.
    audit.record(patient_record(
        transaction="ITI-8", action="U", sender=this_node("EMPI steward"),
        receiver=this_node(RECEIVER), human_requestor=Peer(user_id=actor),
        patient_ids=[record.cx, *dict.fromkeys(enterprise_ids)]))


def _sender(source: str, host: str) -> Peer:
    return Peer(user_id=source, host=host) if source else this_node("patient identity source")
