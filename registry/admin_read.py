"""The console's reading of stored metadata: each object's ebRIM read back into plain objects by
the registry's own reader (registry.ebrim.attributes), then shown as rows a person reads, codes as
"display name (code, scheme)" with the names of the affinity domain's value sets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from registry import metadata, models
from registry.ebrim import attributes
from registry.selectors_console import display_names
from soap.xml import XmlRejected, parse_xml

Rows = list[tuple[str, SafeString]]
T = TypeVar("T", bound=metadata.RegistryObject)

_STATUS = {models.APPROVED: "Approved", models.DEPRECATED: "Deprecated"}
_OBJECT_TYPES = {models.STABLE: "Stable", models.ON_DEMAND: "On-Demand"}


def read_entry(entry: models.DocumentEntry) -> tuple[metadata.DocumentEntry, str]:
    """The entry's metadata, and why its ebRIM could not be read ("" when it could)."""
    read = metadata.DocumentEntry(entry_uuid=entry.entry_uuid)
    return read, _read(entry.ebrim, read, attributes.document_entry)


def read_submission_set(package: models.SubmissionSet) -> tuple[metadata.SubmissionSet, str]:
    read = metadata.SubmissionSet(entry_uuid=package.entry_uuid)
    return read, _read(package.ebrim, read, attributes.submission_set)


def read_folder(folder: models.Folder) -> tuple[metadata.Folder, str]:
    read = metadata.Folder(entry_uuid=folder.entry_uuid)
    return read, _read(folder.ebrim, read, attributes.folder)


def _read(ebrim: str, into: T, reader: Callable[[Any, T], None]) -> str:
    try:
        element = parse_xml(ebrim.encode("utf-8"))
    except XmlRejected as exc:
        return str(exc)
    reader(element, into)
    return ""


def status_name(status: str) -> str:
    return _STATUS.get(status, status.rsplit(":", 1)[-1])


def dtm(value: str) -> str:
    """ITI TF-3 4.2.3.1.5: a DTM is UTC, as precise as the source knew it."""
    if not value:
        return ""
    parts = [value[0:4], value[4:6], value[6:8], value[8:10], value[10:12], value[12:14]]
    date = "-".join(p for p in parts[:3] if p)
    time = ":".join(p for p in parts[3:] if p)
    return f"{date} {time} UTC" if time else date


class Codes:
    """The display names of every code of the objects on one page, looked up at once."""

    def __init__(self, coded: Sequence[tuple[str, metadata.Code | None]]) -> None:
        self.names = display_names((kind, c.code, c.scheme) for kind, c in coded if c is not None)

    def show(self, kind: str, code: metadata.Code | None) -> SafeString:
        if code is None:
            return mark_safe("")
        name = self.names.get((kind, code.code, code.scheme)) or code.display_name
        if not name:
            return format_html("<code>{}</code> ({})", code.code, code.scheme)
        return format_html("{} (<code>{}</code>, {})", name, code.code, code.scheme)

    def show_all(self, kind: str, codes: Sequence[metadata.Code]) -> SafeString:
        return format_html_join(mark_safe("<br>"), "{}", ((self.show(kind, c),) for c in codes))


def entry_codes(entry: metadata.DocumentEntry) -> list[tuple[str, metadata.Code | None]]:
    return [("classCode", entry.class_code), ("typeCode", entry.type_code), ("formatCode", entry.format_code),
            ("healthcareFacilityTypeCode", entry.healthcare_facility_type_code),
            ("practiceSettingCode", entry.practice_setting_code),
            *(("confidentialityCode", c) for c in entry.confidentiality_code),
            *(("eventCodeList", c) for c in entry.event_code_list)]


def entry_rows(entry: metadata.DocumentEntry, row: models.DocumentEntry, codes: Codes) -> Rows:
    """ITI TF-3 Table 4.2.3.2-1, in the order a person reads a document's card."""
    rows: list[tuple[str, object]] = [
        ("Title", entry.title), ("Comments", entry.comments),
        ("Status", f"{status_name(row.status)}, version {row.version}"),
        ("Patient", format_html("<code>{}</code>", entry.patient_id)),
        ("Source patient", format_html("<code>{}</code>", entry.source_patient_id)),
        ("Source patient info", _lines(entry.source_patient_info)),
        ("Authors", _authors(entry.authors)),
        ("Class", codes.show("classCode", entry.class_code)),
        ("Type", codes.show("typeCode", entry.type_code)),
        ("Format", codes.show("formatCode", entry.format_code)),
        ("Healthcare facility type",
         codes.show("healthcareFacilityTypeCode", entry.healthcare_facility_type_code)),
        ("Practice setting", codes.show("practiceSettingCode", entry.practice_setting_code)),
        ("Confidentiality", codes.show_all("confidentialityCode", entry.confidentiality_code)),
        ("Events", codes.show_all("eventCodeList", entry.event_code_list)),
        ("Created", dtm(entry.creation_time)),
        ("Service", " to ".join(t for t in (dtm(entry.service_start_time), dtm(entry.service_stop_time))
                                if t)),
        ("Language", entry.language_code), ("Legal authenticator", entry.legal_authenticator),
        ("MIME type", entry.mime_type),
        ("Size", f"{int(entry.size):,} bytes" if entry.size.isdigit() else entry.size),
        ("SHA-1", format_html("<code>{}</code>", entry.hash)),
        ("Repository", format_html("<code>{}</code>", entry.repository_unique_id)),
        ("Unique ID", format_html("<code>{}</code>", entry.unique_id)),
        ("Entry UUID", format_html("<code>{}</code>", row.entry_uuid)),
        ("Logical ID", format_html("<code>{}</code>", row.logical_id)),
        ("Kind", _OBJECT_TYPES.get(entry.object_type, entry.object_type)),
        ("Availability", entry.document_availability.rsplit(":", 1)[-1]),
        ("Reference IDs", _lines(entry.reference_id_list)),
        ("URI", entry.uri),
    ]
    return _shown(rows)


def submission_set_rows(package: metadata.SubmissionSet, row: models.SubmissionSet, codes: Codes) -> Rows:
    """ITI TF-3 Table 4.2.3.3-1."""
    return _shown([
        ("Title", package.title), ("Comments", package.comments), ("Status", status_name(row.status)),
        ("Patient", format_html("<code>{}</code>", package.patient_id)),
        ("Submitted", dtm(package.submission_time)),
        ("Source", format_html("<code>{}</code>", package.source_id)),
        ("Content type", codes.show("contentTypeCode", package.content_type_code)),
        ("Authors", _authors(package.authors)),
        ("Intended recipients", _lines(package.intended_recipient)),
        ("Unique ID", format_html("<code>{}</code>", package.unique_id)),
        ("Entry UUID", format_html("<code>{}</code>", row.entry_uuid)),
    ])


def folder_rows(folder: metadata.Folder, row: models.Folder, codes: Codes) -> Rows:
    """ITI TF-3 Table 4.2.3.4-1."""
    return _shown([
        ("Title", folder.title), ("Comments", folder.comments),
        ("Status", f"{status_name(row.status)}, version {row.version}"),
        ("Patient", format_html("<code>{}</code>", folder.patient_id)),
        ("Codes", codes.show_all("codeList", folder.code_list)),
        ("Last update", dtm(row.last_update_time)),
        ("Unique ID", format_html("<code>{}</code>", folder.unique_id)),
        ("Entry UUID", format_html("<code>{}</code>", row.entry_uuid)),
    ])


def _authors(authors: Sequence[metadata.Author]) -> SafeString:
    def one(author: metadata.Author) -> SafeString:
        about = [", ".join(v) for v in (author.institutions, author.roles, author.specialties,
                                         author.telecommunications) if v]
        return format_html("{}{}", author.person or "(no person)", f" — {'; '.join(about)}" if about else "")
    return format_html_join(mark_safe("<br>"), "{}", ((one(a),) for a in authors))


def _lines(values: Sequence[str]) -> SafeString:
    return format_html_join(mark_safe("<br>"), "{}", ((v,) for v in values))


def _shown(rows: list[tuple[str, object]]) -> Rows:
    """Rows with a value, each value escaped (format_html) unless it is already safe."""
    return [(label, value if isinstance(value, SafeString) else format_html("{}", value))
            for label, value in rows if str(value).strip() and str(value) not in ("<code></code>",)]
