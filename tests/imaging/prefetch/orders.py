"""RAD-4 orders as hospital B's RIS sends them (RAD TF-2 4.4): ORM^O01 in HL7 v2.3.1 and OMI^O23
in HL7 v2.5.1, built field by field so each test says only what it changes."""

from __future__ import annotations

HOSPB_CX4 = "HOSPB&1.3.6.1.4.1.21367.13.20.2000&ISO"


def segment(name: str, values: dict[int, str]) -> str:
    fields = [""] * (max(values, default=0) + 1)
    fields[0] = name
    for number, value in values.items():
        fields[number] = value
    return "|".join(fields)


def orm(*, mrn: str, control: str = "NW", accession: str = "ACC1", modality: str = "CT",
        priority: str = "R", authority: str = HOSPB_CX4, control_id: str = "ORM1",
        without: tuple[str, ...] = ()) -> bytes:
    """ORM^O01: PID-3 the MRN, ORC-7.6 and OBR-27.6 the priority, OBR-18 the accession number
    and OBR-24 the modality (RAD TF-2 Table B-1)."""
    timing = f"^^^20250601120000^^{priority}"
    segments = [
        f"MSH|^~\\&|HOSPB_RIS|HOSPB|HIENODE|HIE|20250601120000||ORM^O01|{control_id}|P|2.3.1",
        segment("PID", {1: "1", 3: f"{mrn}^^^{authority}", 5: "DOE^JANE", 7: "19700101", 8: "F"}),
        segment("PV1", {1: "1", 2: "O"}),
        segment("ORC", {1: control, 2: "PLC1^HOSPB_RIS", 3: "FIL1^HOSPB_RIS", 5: "SC", 7: timing}),
        segment("OBR", {1: "1", 2: "PLC1^HOSPB_RIS", 3: "FIL1^HOSPB_RIS", 4: "CTCHEST^CT chest^L",
                        18: accession, 24: modality, 27: timing}),
    ]
    return "\r".join(s for s in segments if s[:3] not in without).encode() + b"\r"


def omi(*, mrn: str, control: str = "NW", accession: str = "ACC2", modality: str = "MR",
        priority: str = "R", control_id: str = "OMI1") -> bytes:
    """OMI^O23: TQ1-9 the priority, IPC-1 the accession number, IPC-5 the modality."""
    segments = [
        f"MSH|^~\\&|HOSPB_RIS|HOSPB|HIENODE|HIE|20250601120000||OMI^O23^OMI_O23|{control_id}|P|2.5.1",
        segment("PID", {1: "1", 3: f"{mrn}^^^{HOSPB_CX4}", 5: "DOE^JANE", 7: "19700101", 8: "F"}),
        segment("PV1", {1: "1", 2: "O"}),
        segment("ORC", {1: control, 2: "PLC2^HOSPB_RIS", 3: "FIL2^HOSPB_RIS", 5: "SC"}),
        segment("TQ1", {1: "1", 9: priority}),
        segment("OBR", {1: "1", 2: "PLC2^HOSPB_RIS", 3: "FIL2^HOSPB_RIS", 4: "MRKNEE^MR knee^L"}),
        segment("IPC", {1: accession, 2: "RP2", 3: "1.2.3.4.5", 4: "SPS2", 5: modality}),
    ]
    return "\r".join(segments).encode() + b"\r"
