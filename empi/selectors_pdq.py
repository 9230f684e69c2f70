"""PDQ reads of the EMPI: persons found by demographics and identifiers, and the pages of an answer."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from empi.matching.record import address, date, digits, name
from empi.models import PatientRecord, PdqContinuation, Person
from organisations.models import AssigningAuthority

# How long a consumer may take to ask for the next page before the pointer is forgotten.
CONTINUATION_LIFETIME = timedelta(minutes=30)
POINTER_LENGTH = 256  # PdqContinuation.pointer and query_tag


@dataclass(frozen=True)
class IdentifierCriterion:
    """An identifier the patient must have; `authority` None matches it in any domain."""

    identifier: str
    authority: AssigningAuthority | None = None


@dataclass(frozen=True)
class PdqCriteria:
    """What the consumer asked for, raw: names may end in `*` (a prefix), the rest is exact."""

    family: str = ""
    given: str = ""
    middle: str = ""
    birth_date: str = ""
    sex: str = ""
    street: str = ""
    city: str = ""
    postcode: str = ""
    phone: str = ""
    national_id: str = ""
    mothers_maiden_name: str = ""
    identifiers: tuple[IdentifierCriterion, ...] = ()
    # An identifier in an authority the domain does not know: nobody can match.
    impossible: bool = False
    # A birth date range, YYYYMMDD, `birth_after` inclusive and `birth_before` exclusive (PDQm's
    # birthdate prefixes, FHIR R4 search.html 3.1.1.5.9).
    birth_after: str = ""
    birth_before: str = ""
    # Any line of the address: street, city or postcode (PDQm's `address`); `*` for a prefix.
    address_any: str = ""

    def is_empty(self) -> bool:
        return not self.identifiers and not self.impossible and not any(
            (self.family, self.given, self.middle, self.birth_date, self.sex, self.street, self.city,
             self.postcode, self.phone, self.national_id, self.mothers_maiden_name,
             self.birth_after, self.birth_before, self.address_any))


@dataclass(frozen=True)
class PdqMatch:
    """One person as a PID of the answer: their identifiers in the domains returned, and the
    record whose demographics speak for them."""

    person: Person
    identifiers: list[tuple[AssigningAuthority, str]] = field(default_factory=list)
    record: PatientRecord | None = None


def pdq_search(*, criteria: PdqCriteria,
               domains: Sequence[AssigningAuthority] | None = None) -> list[int]:
    """The ids of the persons matching `criteria`, in the answer's order (family, given, id).

    ITI TF-2a 3.21.4.2.2.8: one PID per patient. A person matches when one of their current
    records matches every demographic criterion and they hold every identifier asked for. With
    `domains` (QPD-8), only persons with an identifier in one of them are returned.
    """
    if criteria.impossible:
        return []
    records = PatientRecord.objects.filter(merged_into__isnull=True)
    records = records.filter(_demographics_filter(criteria))
    person_ids = records.values("person_id")
    persons = Person.objects.filter(pk__in=person_ids, merged_into__isnull=True)
    for criterion in criteria.identifiers:
        persons = persons.filter(_identifier_filter(criterion))
    if domains:
        affinity = any(d.is_affinity_domain for d in domains)
        if not affinity:
            persons = persons.filter(records__authority__in=list(domains),
                                     records__merged_into__isnull=True)
    ordered = (PatientRecord.objects.filter(person__in=persons.distinct(), merged_into__isnull=True)
               .order_by("family", "given", "person_id").values_list("person_id", flat=True))
    seen: dict[int, None] = {}
    for person_id in ordered:
        seen.setdefault(person_id, None)
    return list(seen)


def pdq_matches(*, person_ids: Sequence[int], criteria: PdqCriteria,
                domains: Sequence[AssigningAuthority] | None = None) -> list[PdqMatch]:
    """The persons of `person_ids`, in that order, with the identifiers QPD-8 lets through:
    every domain's and the enterprise ID when it names none (ITI TF-2a 3.21.4.2.2.8)."""
    persons = Person.objects.in_bulk(list(person_ids))
    records = (PatientRecord.objects.select_related("authority")
               .filter(person_id__in=list(person_ids), merged_into__isnull=True)
               .order_by("-updated_at", "-id"))
    by_person: dict[int, list[PatientRecord]] = {}
    for record in records:
        by_person.setdefault(record.person_id, []).append(record)
    affinity = AssigningAuthority.objects.filter(is_affinity_domain=True).first()
    wanted = {d.pk for d in domains} if domains else None
    demographic = _demographics_filter(criteria)
    matching = set(PatientRecord.objects.filter(person_id__in=list(person_ids), merged_into__isnull=True)
                   .filter(demographic).values_list("pk", flat=True))
    found: list[PdqMatch] = []
    for person_id in person_ids:
        person = persons.get(person_id)
        if person is None or person.merged_into_id is not None:  # merged since the first page
            continue
        own = by_person.get(person_id, [])
        identifiers = sorted(((r.authority, r.identifier) for r in own
                              if wanted is None or r.authority_id in wanted),
                             key=lambda pair: (pair[0].pk, pair[1]))
        if affinity is not None and (wanted is None or affinity.pk in wanted):
            identifiers.append((affinity, person.enterprise_id.split("^", 1)[0]))
        # The most recently fed record that matched speaks for the person's demographics.
        speaking = next((r for r in own if r.pk in matching), own[0] if own else None)
        found.append(PdqMatch(person=person, identifiers=identifiers, record=speaking))
    return found


def continuation_create(*, query_tag: str, remaining: Sequence[int]) -> str:
    """Keeps the persons still to send; the pointer the consumer quotes in DSC-1 to get them."""
    pointer = secrets.token_hex(16)
    PdqContinuation.objects.create(pointer=pointer, query_tag=query_tag, remaining=list(remaining),
                                   expires_at=timezone.now() + CONTINUATION_LIFETIME)
    return pointer


def continuation_take(*, pointer: str, query_tag: str) -> list[int] | None:
    """The persons left under `pointer` for the query `query_tag`, forgotten once read; None
    when the pointer is unknown, expired or belongs to another query."""
    PdqContinuation.objects.filter(expires_at__lt=timezone.now()).delete()
    found = PdqContinuation.objects.filter(pointer=pointer, query_tag=query_tag).first()
    if found is None:
        return None
    found.delete()
    return [int(person_id) for person_id in found.remaining]


@dataclass(frozen=True)
class PdqPage:
    """The next persons of a kept ITI-47 answer, how many are left after them, how many the
    whole answer has, and the queryByParameter it answers, as received."""

    person_ids: list[int]
    remaining: int
    total: int
    query: str


def continuation_keep(*, pointer: str, query_tag: str, remaining: Sequence[int], total: int,
                      query: str) -> None:
    """ITI TF-2b 3.47.4.3: keeps the persons not sent yet under the query's own queryId; a
    queryId asked again starts its answer over."""
    if len(pointer) > POINTER_LENGTH or len(query_tag) > POINTER_LENGTH:
        return  # an identifier longer than any OID and UUID: that answer is not continued
    PdqContinuation.objects.update_or_create(pointer=pointer, defaults={
        "query_tag": query_tag, "remaining": list(remaining), "total": total, "query": query,
        "expires_at": timezone.now() + CONTINUATION_LIFETIME})


def continuation_next(*, pointer: str, query_tag: str, quantity: int) -> PdqPage | None:
    """The next `quantity` persons (all of them when 0) kept under `pointer` for `query_tag`;
    forgotten once the last is read. None when unknown, expired or another's."""
    PdqContinuation.objects.filter(expires_at__lt=timezone.now()).delete()
    found = (PdqContinuation.objects.select_for_update()
             .filter(pointer=pointer, query_tag=query_tag).first())
    if found is None:
        return None
    person_ids = [int(person_id) for person_id in found.remaining]
    page, rest = (person_ids[:quantity], person_ids[quantity:]) if quantity else (person_ids, [])
    if rest:
        found.remaining = rest
        found.expires_at = timezone.now() + CONTINUATION_LIFETIME
        found.save(update_fields=["remaining", "expires_at"])
    else:
        found.delete()
    return PdqPage(person_ids=page, remaining=len(rest), total=found.total, query=found.query)


def continuation_cancel(*, pointer: str, query_tag: str) -> bool:
    """ITI TF-2b 3.47.4.3: the consumer wants no more of the answer; False when none was kept."""
    deleted, _ = PdqContinuation.objects.filter(pointer=pointer, query_tag=query_tag).delete()
    return deleted > 0


def persons_current(*, person_ids: Sequence[int]) -> set[int]:
    """Which of `person_ids` are persons not merged away (PDQm's `_id`)."""
    return set(Person.objects.filter(pk__in=list(person_ids), merged_into__isnull=True)
               .values_list("pk", flat=True))


def persons_in_region(*, person_ids: Sequence[int], state: str = "", country: str = "") -> list[int]:
    """The persons of `person_ids`, in that order, with a current record whose address, as the
    feed sent it, has a state and country starting with those given (case folded). The EMPI keeps
    no column for either: a FHIR feed's `address`, or a v2 feed's PID-11.4 and PID-11.6."""
    wanted = (state.casefold(), country.casefold())
    records = PatientRecord.objects.filter(person_id__in=list(person_ids), merged_into__isnull=True)
    matching = {person_id for person_id, raw in records.values_list("person_id", "raw")
                if any(_region_matches(found, wanted) for found in _regions(raw or {}))}
    return [person_id for person_id in person_ids if person_id in matching]


def _regions(raw: dict[str, object]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    addresses = raw.get("address")
    if isinstance(addresses, list):
        found += [(str(a.get("state", "")), str(a.get("country", ""))) for a in addresses
                  if isinstance(a, dict)]
    pid11 = raw.get("PID-11")
    if isinstance(pid11, str):
        for repetition in pid11.split("~"):
            parts = repetition.split("^") + [""] * 6
            found.append((parts[3], parts[5]))
    return found


def _region_matches(found: tuple[str, str], wanted: tuple[str, str]) -> bool:
    return all(have.casefold().startswith(want) for have, want in zip(found, wanted, strict=True) if want)


def _demographics_filter(criteria: PdqCriteria) -> Q:
    condition = Q()
    fields: tuple[tuple[str, str, Callable[[str], str]], ...] = (
            ("family", criteria.family, name), ("given", criteria.given, name),
            ("middle", criteria.middle, name), ("city", criteria.city, name),
            ("mothers_maiden_name", criteria.mothers_maiden_name, name),
            ("street", criteria.street, address))
    for column, value, normalise in fields:
        if value:
            condition &= _name_condition(column, value, normalise)
    if criteria.birth_date:
        condition &= Q(birth_date=date(criteria.birth_date) or criteria.birth_date)
    if criteria.birth_after:
        condition &= Q(birth_date__gte=criteria.birth_after) & ~Q(birth_date="")
    if criteria.birth_before:
        condition &= Q(birth_date__lt=criteria.birth_before) & ~Q(birth_date="")
    if criteria.address_any:
        line = (_name_condition("street", criteria.address_any, address)
                | _name_condition("city", criteria.address_any, name))
        if not name(criteria.address_any):  # digits alone may be a postcode too
            line |= _name_condition("postcode", criteria.address_any, _postcode)
        condition &= line
    if criteria.sex:
        condition &= Q(sex=criteria.sex.strip().upper())
    if criteria.postcode:
        condition &= Q(postcode=digits(criteria.postcode) or name(criteria.postcode).replace(" ", ""))
    if criteria.phone:
        condition &= Q(phone=digits(criteria.phone)[-10:])
    if criteria.national_id:
        condition &= Q(national_id=digits(criteria.national_id)
                       or name(criteria.national_id).replace(" ", ""))
    return condition


def _postcode(value: str) -> str:
    return digits(value) or name(value).replace(" ", "")


def _name_condition(column: str, value: str, normalise: Callable[[str], str]) -> Q:
    """Exact after the matcher's normalisation (case and accents folded); `SMI*` is a prefix."""
    if value.endswith("*"):
        prefix = normalise(value.rstrip("*"))
        return Q(**{f"{column}__startswith": prefix}) if prefix else Q()
    return Q(**{column: normalise(value)})


def _identifier_filter(criterion: IdentifierCriterion) -> Q:
    if criterion.authority is not None and criterion.authority.is_affinity_domain:
        return Q(enterprise_id__startswith=f"{criterion.identifier}^^^")
    held = Q(records__identifier=criterion.identifier, records__merged_into__isnull=True)
    if criterion.authority is not None:
        held &= Q(records__authority=criterion.authority)
    return Q(pk__in=Person.objects.filter(held).values("pk"))
