"""HL7 v2 fields as the PIX handlers read them: CX identifiers, the PID's demographics, ERR locations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from empi import selectors
from empi.matching.record import Demographics, date, demographics
from mllp.codes import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    AckError,
    ErrorCondition,
)
from mllp.message import Header
from mllp.peer import peer_organisation
from organisations.models import AssigningAuthority
from organisations.selectors import foreign_authorities

# HL7 table 0357; ITI TF-2a 3.9.4.2.2.6 answers an unknown domain with it.
UNKNOWN_KEY_IDENTIFIER = ErrorCondition("204", "Unknown key identifier")
# The fields of the PID the EMPI keeps as the feed sent them (ITI TF-2a 3.8.4.1.2.3).
RAW_PID_FIELDS = (3, 5, 6, 7, 8, 11, 13, 19)


class Malformed(Exception):
    """A message the handler cannot act on: what the ERR segment of its answer says."""

    def __init__(self, error: AckError) -> None:
        super().__init__(error.condition.text)
        self.error = error


class NotTheirs(Malformed):
    """An organisation authenticated by its certificate naming another's assigning authority."""


@dataclass(frozen=True)
class CX:
    """An HL7 CX identifier: CX-1 and the three parts of its CX-4 assigning authority."""

    id: str
    namespace_id: str = ""
    universal_id: str = ""
    universal_id_type: str = ""


class Reader:
    """Splits the raw text of a parsed message with its own encoding characters."""

    def __init__(self, message: Any, header: Header) -> None:
        self.message = message
        self.header = header
        component, repetition, _escape, subcomponent = tuple(header.encoding_characters[:4])
        self.component, self.repetition, self.subcomponent = component, repetition, subcomponent

    def segment(self, name: str) -> list[str] | None:
        """The first `name` segment's fields, by number (index 0 is the segment ID), or None."""
        for segment in self.message:
            # The ID first: python-hl7 cannot write out a later MSH that lacks MSH-1 and MSH-2
            # (IndexError), and such a segment is never the one asked for.
            if str(segment[0]) != name:
                continue
            text = str(segment)
            if text.split(self.header.field_separator, 1)[0] == name:
                return text.split(self.header.field_separator)
        return None

    def required_segment(self, name: str) -> list[str]:
        found = self.segment(name)
        if found is None:
            raise Malformed(AckError(SEGMENT_SEQUENCE_ERROR, (name,), f"The {name} segment is missing"))
        return found

    def field(self, segment: list[str], number: int) -> str:
        return segment[number] if number < len(segment) else ""

    def repetitions(self, text: str) -> list[str]:
        return [r for r in text.split(self.repetition) if r]

    def components(self, text: str, count: int) -> list[str]:
        parts = text.split(self.component)
        return [self.value(p) for p in [*parts, *[""] * count][:count]]

    def first_subcomponent(self, text: str) -> str:
        return text.split(self.subcomponent, 1)[0]

    def value(self, text: str) -> str:
        """Field content without its escapes; HL7's null `""` reads as empty."""
        if text == '""':
            return ""
        return str(self.message.unescape(text)) if self.header.encoding_characters[2] in text else text

    def cx(self, text: str) -> CX:
        parts = text.split(self.component)
        parts = [*parts, "", "", "", ""][:4]
        authority = [*parts[3].split(self.subcomponent), "", "", ""][:3]
        return CX(id=self.value(self.first_subcomponent(parts[0])), namespace_id=self.value(authority[0]),
                  universal_id=self.value(authority[1]), universal_id_type=self.value(authority[2]))

    def raw(self, segment: list[str], numbers: tuple[int, ...]) -> dict[str, str]:
        name = segment[0]
        return {f"{name}-{n}": self.field(segment, n) for n in numbers if self.field(segment, n)}


def known_identifiers(reader: Reader, segment: list[str], number: int
                      ) -> list[tuple[AssigningAuthority, str]]:
    """The identifiers of a CX field (PID-3, MRG-1) whose assigning authority the domain knows.
    Raises Malformed: 101 when the field is empty, 204 when no authority in it is known."""
    name = segment[0]
    found: list[tuple[AssigningAuthority, str]] = []
    seen: set[tuple[int, str]] = set()
    present = False
    for repetition in reader.repetitions(reader.field(segment, number)):
        cx = reader.cx(repetition)
        if not cx.id:
            continue
        present = True
        authority = selectors.authority_find(namespace_id=cx.namespace_id, universal_id=cx.universal_id)
        if authority is not None and (authority.pk, cx.id) not in seen:
            seen.add((authority.pk, cx.id))
            found.append((authority, cx.id))
    if not present:
        raise Malformed(AckError(REQUIRED_FIELD_MISSING, (name, "1", str(number)),
                                 f"{name}-{number} names no patient identifier"))
    if not found:
        raise Malformed(AckError(UNKNOWN_KEY_IDENTIFIER, (name, "1", str(number), "1", "4"),
                                 f"No assigning authority in {name}-{number} is known to the "
                                 "affinity domain"))
    return found


def pid_demographics(reader: Reader, pid: list[str]) -> Demographics:
    """ITI TF-2a 3.8.4.1.2.3: what the PID says of the patient, normalised for the matcher."""
    given = middle = family = ""
    other_family: list[str] = []
    names = [reader.components(r, 7) for r in reader.repetitions(reader.field(pid, 5))]
    legal = next((n for n in names if n[6] == "L" and (n[0] or n[1])),
                 next((n for n in names if n[0] or n[1]), None))
    if legal is not None:
        family, given, middle = reader.first_subcomponent(legal[0]), legal[1], legal[2]
    for n in names:
        surname = reader.first_subcomponent(n[0])
        if n is not legal and surname and surname != family:
            other_family.append(surname)
    mothers = reader.components(reader.field(pid, 6), 1)[0]
    birth = reader.components(reader.field(pid, 7), 1)[0]
    if birth and not date(birth):
        raise Malformed(AckError(DATA_TYPE_ERROR, ("PID", "1", "7"), "PID-7 is not a date"))
    addresses = reader.repetitions(reader.field(pid, 11))
    address = reader.components(addresses[0], 5) if addresses else [""] * 5
    phone = ""
    for repetition in reader.repetitions(reader.field(pid, 13)):
        parts = reader.components(repetition, 7)
        number = parts[0] if any(c.isdigit() for c in parts[0]) else parts[5] + parts[6]
        if any(c.isdigit() for c in number):
            phone = number
            break
    return demographics(
        given=given, middle=middle, family=family, birth_date=birth,
        sex=reader.components(reader.field(pid, 8), 1)[0],
        street=reader.first_subcomponent(address[0]), city=address[2], postcode=address[4],
        phone=phone, national_id=reader.components(reader.field(pid, 19), 1)[0],
        mothers_maiden_name=reader.first_subcomponent(mothers), other_family=tuple(other_family))


def requested_domains(reader: Reader, qpd: list[str], *, field: int) -> list[AssigningAuthority] | None:
    """The domains a query asks identifiers of ("what domains returned": QPD-4 of ITI-9, QPD-8
    of ITI-21), or None for all; a domain the node does not know is AE 204 at its repetition."""
    domains: list[AssigningAuthority] = []
    for number, repetition in enumerate(reader.field(qpd, field).split(reader.repetition), start=1):
        if not repetition:
            continue
        cx = reader.cx(repetition)
        authority = selectors.authority_find(namespace_id=cx.namespace_id, universal_id=cx.universal_id)
        if authority is None:
            raise Malformed(AckError(UNKNOWN_KEY_IDENTIFIER, ("QPD", "1", str(field), str(number)),
                                     f"A domain of QPD-{field} is not known"))
        domains.append(authority)
    return domains or None


def peer_name(application: str, facility: str) -> str:
    """ITI TF-2a 3.8.5.1: a v2 peer is audited as `MSH-3|MSH-4` (or MSH-5|MSH-6)."""
    return f"{application}|{facility}"


def own_identifiers(reader: Reader, segment: list[str], number: int, *, affinity: bool = False
                    ) -> list[tuple[AssigningAuthority, str]]:
    """known_identifiers, held to the peer's own assigning authorities when the connection is
    authenticated (organisations.selectors.foreign_authorities). Raises NotTheirs, a 204, for
    another's authority; with `affinity`, enterprise IDs pass too."""
    found = known_identifiers(reader, segment, number)
    if foreign_authorities(organisation=peer_organisation(), authorities=[a for a, _ in found],
                           affinity=affinity):
        name = segment[0]
        raise NotTheirs(AckError(UNKNOWN_KEY_IDENTIFIER, (name, "1", str(number), "1", "4"),
                                 f"{name}-{number} names an assigning authority of another organisation"))
    return found
