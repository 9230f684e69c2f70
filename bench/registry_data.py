"""A synthetic registry for `bench_registry`: patients, SubmissionSets of ~5 DocumentEntries each.

Rows are written the way ITI-42 leaves them (`registry.services.register._store`), but in bulk: PostgreSQL
through `COPY ... FROM STDIN`, SQLite through `executemany` in large transactions. Each
DocumentEntry has realistic codes, a creationTime spread over ten years, one confidentialityCode
and two eventCodeList codes in ObjectCode, its authorPerson in ObjectValue, and its ebRIM text
(about 2 KB). Each SubmissionSet has its ebRIM and one HasMember per entry.

Everything follows from `seed`: the same size gives the same registry.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
AFFINITY = "1.3.6.1.4.1.21367.2005.3.7"
SOURCE_ROOT = "1.3.6.1.4.1.21367.13.20"
CREATED_AT = "2026-01-01 00:00:00+00:00"
PER_SUBMISSION = 5
LOINC, DCM, SRT = "2.16.840.1.113883.6.1", "1.2.840.10008.2.16.4", "SRT"
CONF = "2.16.840.1.113883.5.25"
# (code, scheme, display, weight): the affinity domain's classCodes, imaging first.
CLASS_CODES = [("18748-4", LOINC, "Diagnostic imaging study", 40), ("11488-4", LOINC, "Consult note", 15),
               ("34133-9", LOINC, "Summary of episode note", 15), ("18842-5", LOINC, "Discharge summary", 10),
               ("11506-3", LOINC, "Progress note", 10), ("11502-2", LOINC, "Laboratory report", 10)]
TYPE_CODES = [("18748-4", LOINC), ("18782-3", LOINC), ("11524-6", LOINC), ("24627-2", LOINC),
              ("30954-2", LOINC)]
FORMATS = [("1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1", "application/dicom"),
           ("urn:ihe:rad:PDF", "1.3.6.1.4.1.19376.1.2.3", "application/pdf"),
           ("urn:ihe:rad:TEXT", "1.3.6.1.4.1.19376.1.2.3", "text/plain")]
FACILITIES = [("RAD", "2.16.840.1.113883.5.11"), ("HOSP", "2.16.840.1.113883.5.11"),
              ("CHR", "2.16.840.1.113883.5.11")]
PRACTICES = [("R-3027B", SRT), ("R-3031D", SRT), ("R-421E7", SRT)]
CONFIDENTIALITY = [("N", CONF)] * 8 + [("R", CONF)] * 2 + [("V", CONF)]
MODALITIES = [("CT", DCM), ("MR", DCM), ("US", DCM), ("CR", DCM), ("DX", DCM), ("NM", DCM)]
BODY_PARTS = [("T-D3000", SRT), ("T-A0100", SRT), ("T-D4000", SRT), ("T-11500", SRT), ("T-D1100", SRT)]
AUTHORS = [f"^Doctor{n}^Given{n}^^^Dr" for n in range(200)]
# ITI TF-3 4.2.5: the classification schemes and identification schemes of a DocumentEntry.
S_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
S_CONF = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
S_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
S_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
S_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
S_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
S_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
S_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
I_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
I_UNIQUE = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_UNIQUE = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
TEN_YEARS = 10 * 365 * 86400
START = 1_451_606_400  # 2016-01-01T00:00:00Z

DOCUMENT_COLUMNS = (
    "entry_uuid", "logical_id", "version", "status", "home_community_id", "ebrim", "created_at",
    "unique_id", "object_type", "patient_id", "source_patient_id", "class_code", "class_scheme",
    "type_code", "type_scheme", "format_code", "format_scheme", "healthcare_facility_type_code",
    "healthcare_facility_type_scheme", "practice_setting_code", "practice_setting_scheme",
    "creation_time", "service_start_time", "service_stop_time", "mime_type", "hash", "size",
    "repository_unique_id", "language_code", "title", "document_availability")
SET_COLUMNS = ("entry_uuid", "logical_id", "version", "status", "home_community_id", "ebrim", "created_at",
               "unique_id", "source_id", "patient_id", "submission_time", "content_type_code",
               "content_type_scheme")
ASSOCIATION_COLUMNS = ("entry_uuid", "association_type", "source_uuid", "target_uuid", "status",
                       "submission_set_status", "ebrim", "created_at")
CODE_COLUMNS = ("entry_uuid", "kind", "code", "scheme")
VALUE_COLUMNS = ("entry_uuid", "kind", "value")
PATIENT_COLUMNS = ("patient_id", "created_at")
TABLES = {"registry_patientidentity": PATIENT_COLUMNS, "registry_documententry": DOCUMENT_COLUMNS,
          "registry_submissionset": SET_COLUMNS, "registry_association": ASSOCIATION_COLUMNS,
          "registry_objectcode": CODE_COLUMNS, "registry_objectvalue": VALUE_COLUMNS}

Rows = dict[str, list[tuple[Any, ...]]]


def slot(name: str, value: str) -> str:
    return (f'<rim:Slot name="{name}"><rim:ValueList><rim:Value>{value}</rim:Value></rim:ValueList>'
            "</rim:Slot>")


def patient_id(n: int) -> str:
    return f"P{n:07d}^^^&{AFFINITY}&ISO"


@dataclass
class Generator:
    patients: int
    entries: int
    seed: int = 42

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def _uuid(self) -> str:
        return f"urn:uuid:{uuid.UUID(int=self.random.getrandbits(128), version=4)}"

    def _dtm(self, seconds: int) -> str:
        import time

        return time.strftime("%Y%m%d%H%M%S", time.gmtime(seconds))

    def chunks(self, submissions_per_chunk: int = 2_000) -> Iterator[Rows]:
        """The rows of every table, a few thousand submissions at a time, patients first."""
        yield {"registry_patientidentity": [(patient_id(n), CREATED_AT) for n in range(self.patients)]}
        submissions = -(-self.entries // PER_SUBMISSION)
        made = 0
        for first in range(0, submissions, submissions_per_chunk):
            rows: Rows = {table: [] for table in TABLES if table != "registry_patientidentity"}
            for s in range(first, min(first + submissions_per_chunk, submissions)):
                count = min(PER_SUBMISSION, self.entries - made)
                self._submission(rows, s, count)
                made += count
            yield rows

    def _submission(self, rows: Rows, s: int, count: int) -> None:
        r = self.random
        patient = patient_id(s % self.patients)
        moment = START + r.randrange(TEN_YEARS)
        set_uuid, set_uid = self._uuid(), f"{SOURCE_ROOT}.2000.{s}"
        author = r.choice(AUTHORS)
        rows["registry_submissionset"].append((
            set_uuid, set_uuid, 1, APPROVED, "", self._set_ebrim(set_uuid, set_uid, patient, moment, author),
            CREATED_AT, set_uid, f"{SOURCE_ROOT}.1000", patient, self._dtm(moment + 600), "18748-4", LOINC))
        rows["registry_objectvalue"].append((set_uuid, "authorPerson", author))
        for d in range(count):
            entry_uuid = self._uuid()
            unique_id = f"{SOURCE_ROOT}.3000.{s}.{d}"
            klass = r.choices(CLASS_CODES, weights=[c[3] for c in CLASS_CODES])[0]
            kind = r.choice(TYPE_CODES)
            fmt = r.choice(FORMATS)
            facility, practice = r.choice(FACILITIES), r.choice(PRACTICES)
            confidentiality = r.choice(CONFIDENTIALITY)
            events = [r.choice(MODALITIES), r.choice(BODY_PARTS)]
            created = self._dtm(moment - r.randrange(3600))
            start, stop = self._dtm(moment - 7200), self._dtm(moment - 5400)
            digest = f"{r.getrandbits(160):040x}"
            size = r.randrange(1_000, 5_000_000)
            title = f"{klass[2]} {d + 1}"
            ebrim = self._document_ebrim(
                entry_uuid, unique_id, patient, klass, kind, fmt, facility, practice, confidentiality,
                events, created, start, stop, digest, size, author, title)
            rows["registry_documententry"].append((
                entry_uuid, entry_uuid, 1, APPROVED, "", ebrim, CREATED_AT, unique_id, STABLE, patient,
                f"A{s % self.patients}^^^&{SOURCE_ROOT}.1000&ISO", klass[0], klass[1], kind[0], kind[1],
                fmt[0], fmt[1], facility[0], facility[1], practice[0], practice[1], created, start, stop,
                fmt[2], digest, size, f"{SOURCE_ROOT}.1000.1", "en-US", title, ""))
            rows["registry_objectcode"] += [
                (entry_uuid, "confidentialityCode", *confidentiality),
                *((entry_uuid, "eventCodeList", *event) for event in events)]
            rows["registry_objectvalue"].append((entry_uuid, "authorPerson", author))
            association = self._uuid()
            rows["registry_association"].append((
                association, HAS_MEMBER, set_uuid, entry_uuid, APPROVED, "Original",
                f'<rim:Association xmlns:rim="{RIM}" id="{association}" associationType="{HAS_MEMBER}" '
                f'sourceObject="{set_uuid}" targetObject="{entry_uuid}" status="{APPROVED}">'
                '<rim:Slot name="SubmissionSetStatus"><rim:ValueList><rim:Value>Original</rim:Value>'
                "</rim:ValueList></rim:Slot></rim:Association>", CREATED_AT))

    def _classification(self, entry_uuid: str, scheme: str, code: tuple[str, ...], name: str = "") -> str:
        display = (f'<rim:Name><rim:LocalizedString value="{name}"/></rim:Name>' if name else "")
        return (f'<rim:Classification id="{self._uuid()}" classificationScheme="{scheme}" '
                f'classifiedObject="{entry_uuid}" nodeRepresentation="{code[0]}">'
                f'<rim:Slot name="codingScheme"><rim:ValueList><rim:Value>{code[1]}</rim:Value>'
                f"</rim:ValueList></rim:Slot>{display}</rim:Classification>")

    def _document_ebrim(self, entry_uuid: str, unique_id: str, patient: str, klass: tuple[Any, ...],
                        kind: tuple[str, ...], fmt: tuple[str, ...], facility: tuple[str, ...],
                        practice: tuple[str, ...], confidentiality: tuple[str, ...],
                        events: Sequence[tuple[str, ...]], created: str, start: str, stop: str,
                        digest: str, size: int, author: str, title: str) -> str:
        c = self._classification
        xml_patient = patient.replace("&", "&amp;")
        return (
            f'<rim:ExtrinsicObject xmlns:rim="{RIM}" id="{entry_uuid}" lid="{entry_uuid}" '
            f'objectType="{STABLE}" status="{APPROVED}" mimeType="{fmt[2]}">'
            f"{slot('creationTime', created)}{slot('hash', digest)}{slot('languageCode', 'en-US')}"
            f"{slot('repositoryUniqueId', f'{SOURCE_ROOT}.1000.1')}{slot('serviceStartTime', start)}"
            f"{slot('serviceStopTime', stop)}{slot('size', str(size))}"
            f"{slot('sourcePatientId', xml_patient.replace('P', 'A', 1))}"
            f'<rim:Name><rim:LocalizedString value="{title}"/></rim:Name><rim:VersionInfo versionName="1"/>'
            f'<rim:Classification id="{self._uuid()}" classificationScheme="{S_AUTHOR}" '
            f'classifiedObject="{entry_uuid}" nodeRepresentation="">{slot("authorPerson", author)}'
            "</rim:Classification>"
            f"{c(entry_uuid, S_CLASS, klass)}{c(entry_uuid, S_CONF, confidentiality)}"
            + "".join(c(entry_uuid, S_EVENT, event) for event in events)
            + f"{c(entry_uuid, S_FORMAT, fmt)}{c(entry_uuid, S_FACILITY, facility)}"
            f"{c(entry_uuid, S_PRACTICE, practice)}{c(entry_uuid, S_TYPE, kind)}"
            f'<rim:ExternalIdentifier id="{self._uuid()}" registryObject="{entry_uuid}" '
            f'identificationScheme="{I_PATIENT}" value="{xml_patient}"/>'
            f'<rim:ExternalIdentifier id="{self._uuid()}" registryObject="{entry_uuid}" '
            f'identificationScheme="{I_UNIQUE}" value="{unique_id}"/>'
            "</rim:ExtrinsicObject>")

    def _set_ebrim(self, set_uuid: str, unique_id: str, patient: str, moment: int, author: str) -> str:
        return (
            f'<rim:RegistryPackage xmlns:rim="{RIM}" id="{set_uuid}" lid="{set_uuid}" status="{APPROVED}">'
            f"{slot('submissionTime', self._dtm(moment + 600))}"
            f'<rim:Classification id="{self._uuid()}" classifiedObject="{set_uuid}" '
            f'classificationNode="{SS_NODE}"/>'
            f'<rim:Classification id="{self._uuid()}" classificationScheme="{SS_AUTHOR}" '
            f'classifiedObject="{set_uuid}" nodeRepresentation="">{slot("authorPerson", author)}'
            "</rim:Classification>"
            f"{self._classification(set_uuid, SS_CONTENT, ('18748-4', LOINC))}"
            f'<rim:ExternalIdentifier id="{self._uuid()}" registryObject="{set_uuid}" '
            f'identificationScheme="{SS_PATIENT}" value="{patient.replace("&", "&amp;")}"/>'
            f'<rim:ExternalIdentifier id="{self._uuid()}" registryObject="{set_uuid}" '
            f'identificationScheme="{SS_SOURCE}" value="{SOURCE_ROOT}.1000"/>'
            f'<rim:ExternalIdentifier id="{self._uuid()}" registryObject="{set_uuid}" '
            f'identificationScheme="{SS_UNIQUE}" value="{unique_id}"/>'
            "</rim:RegistryPackage>")


def load_postgres(conn: Any, generator: Generator, progress: Callable[[int], None] | None = None) -> int:
    """COPY the generator's rows into a migrated PostgreSQL database (a psycopg connection);
    the DocumentEntries written."""
    written = 0
    for rows in generator.chunks():
        with conn.transaction():
            for table, found in rows.items():
                if not found:
                    continue
                columns = ", ".join(TABLES[table])
                with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    # Nothing generated holds a tab, newline or backslash: rows go as plain text.
                    copy.write("".join("\t".join(map(str, row)) + "\n" for row in found))
        written += len(rows.get("registry_documententry", ()))
        if progress:
            progress(written)
    return written


def load_sqlite(path: str, generator: Generator) -> int:
    """The same rows into a migrated SQLite file, one transaction per chunk."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    written = 0
    try:
        for rows in generator.chunks():
            with conn:
                for table, found in rows.items():
                    columns = TABLES[table]
                    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
                                     f"({', '.join('?' * len(columns))})", found)
            written += len(rows.get("registry_documententry", ()))
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return written
