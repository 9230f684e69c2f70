"""HL7 v2 messages of the story: hospitals A and B register the same woman, then ask about her."""

from __future__ import annotations

from pathlib import Path

import hl7

from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4, HOSPITAL_B_CX4

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "examples" / "pix-pdq"
PIX_FEED = EXAMPLES / "pixfeed" / "v2"
# IPF's conformance examples: a maximal ADT^A01 registration, its A08 revision and an A40 merge.
FEED_REGISTER = PIX_FEED / "PIX_FEED_REG_Maximal_Request.hl7"
FEED_REVISE = PIX_FEED / "PIX_FEED_REV_Maximal_Request.hl7"
FEED_MERGE = PIX_FEED / "PIX_FEED_MERGE_Maximal_Request.hl7"

# Jane Doe as each hospital's HIS knows her; hospital B mistyped her given name.
JANE_AT_A = ("A123", HOSPITAL_A_CX4, "DOE^JANE^M", "19800101", "F",
             "12 HIGH STREET^^SPRINGFIELD^^12345", "555-0101-234")
JANE_AT_B = ("B777", HOSPITAL_B_CX4, "DOE^JAEN^M", "19800101", "F",
             "12 HIGH ST^^SPRINGFIELD^^12345", "555-0101-234")
# Someone else altogether.
JOHN_AT_B = ("B900", HOSPITAL_B_CX4, "SMITHERS^WALDO", "19511120", "M",
             "1 MILL LANE^^SHELBYVILLE^^99887", "")


def adt(event: str, patient: tuple[str, ...], *, control: str = "", sender: str = "HOSPA_HIS^HOSPA",
        merge: str = "") -> bytes:
    """An ADT message of ITI-8, HL7 v2.5."""
    mrn, authority, name, birth, sex, address, phone = patient
    structure = {"A40": "ADT_A39", "A08": "ADT_A01"}.get(event, "ADT_A01")
    application, facility = sender.split("^")
    segments = [
        f"MSH|^~\\&|{application}|{facility}|HIENODE|HIE|20250101120000||ADT^{event}^{structure}|"
        f"{control or mrn + event}|P|2.5",
        "EVN||20250101120000",
        f"PID|||{mrn}^^^{authority}^PI||{name}||{birth}|{sex}|||{address}||{phone}",
    ]
    if merge:
        segments.append(f"MRG|{merge}")
    else:
        segments.append("PV1||O")
    return ("\r".join(segments) + "\r").encode()


def qbp(identifier: str, *, domains: str = "", control: str = "Q1",
        sender: str = "HOSPB_RIS^HOSPB") -> bytes:
    """QBP^Q23 of ITI-9: who is `identifier` (CX) in the domains of `domains` (QPD-4)?"""
    application, facility = sender.split("^")
    segments = [
        f"MSH|^~\\&|{application}|{facility}|HIENODE|HIE|20250101120000||QBP^Q23^QBP_Q21|{control}|P|2.5",
        f"QPD|IHE PIX Query|TAG{control}|{identifier}|{domains}",
        "RCP|I",
    ]
    return ("\r".join(segments) + "\r").encode()


def cx(mrn: str, cx4: str) -> str:
    return f"{mrn}^^^{cx4}"


def read(reply: bytes | str) -> hl7.Message:
    text = reply.decode() if isinstance(reply, bytes) else reply
    return hl7.parse(text.replace("\n", "\r"))


def segment_text(reply: bytes | str, name: str) -> str:
    text = reply.decode() if isinstance(reply, bytes) else reply
    found = [s for s in text.replace("\n", "\r").split("\r") if s.startswith(name + "|")]
    return found[0] if found else ""


def field(reply: bytes | str, name: str, number: int) -> str:
    text = segment_text(reply, name)
    fields = text.split("|")
    if name == "MSH":  # MSH-1 is the field separator itself
        number -= 1
    return fields[number] if number < len(fields) else ""


def pid3(reply: bytes | str) -> set[str]:
    """The identifiers of an RSP^K23's PID-3."""
    value = field(reply, "PID", 3)
    return set(value.split("~")) if value else set()


AFFINITY = AFFINITY_CX4
