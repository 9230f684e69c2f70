"""A stored SubmissionSet or Folder as an MHD List (MHD 4.2 ITI TF-3 4.5.2, Tables 4.5.2.1-1, 4.5.2.2-1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir_api.mhd import codes
from fhir_api.mhd.document_reference import practitioner
from registry import metadata
from registry.ebrim import attributes
from soap.xml import parse_xml


def submission_set_list(*, entry_uuid: str, ebrim: str, subject: dict[str, Any] | None,
                        entries: Sequence[str]) -> dict[str, Any]:
    """A SubmissionSet as a List of code `submissionset`; `entries` its members' references."""
    element = parse_xml(ebrim.encode("utf-8"))
    package = metadata.SubmissionSet(entry_uuid=entry_uuid)
    attributes.submission_set(element, package)
    extensions: list[dict[str, Any]] = []
    if package.source_id:
        extensions.append({"url": codes.SOURCE_ID_EXTENSION,
                           "valueIdentifier": {"system": codes.RFC3986,
                                               "value": codes.uri_of_unique_id(package.source_id)}})
    if package.content_type_code:
        code = package.content_type_code
        extensions.append({"url": codes.DESIGNATION_TYPE_EXTENSION,
                           "valueCodeableConcept": codes.codeable(code.code, code.scheme, code.display_name)})
    resource = _list(entry_uuid, package.unique_id, element.get("status", codes.APPROVED), "submissionset",
                     extensions)
    authors = [a.person for a in package.authors if a.person]
    if authors:
        # List.source is one Practitioner: the first author person (ITI TF-3 4.5.2.1).
        resource["contained"] = [practitioner(authors[0], "a1")]
        resource["source"] = {"reference": "#a1"}
    return _finish(resource, title=package.title, comments=package.comments, subject=subject,
                   date=package.submission_time, entries=entries)


def folder_list(*, entry_uuid: str, ebrim: str, subject: dict[str, Any] | None,
                entries: Sequence[str]) -> dict[str, Any]:
    """A Folder as a List of code `folder`; its codeList as designationType extensions."""
    element = parse_xml(ebrim.encode("utf-8"))
    folder = metadata.Folder(entry_uuid=entry_uuid)
    attributes.folder(element, folder)
    last_update = attributes.slot_values(element).get("lastUpdateTime", [[""]])
    extensions = [{"url": codes.DESIGNATION_TYPE_EXTENSION,
                   "valueCodeableConcept": codes.codeable(c.code, c.scheme, c.display_name)}
                  for c in folder.code_list]
    status = element.get("status", codes.APPROVED)
    resource = _list(entry_uuid, folder.unique_id, status, "folder", extensions)
    return _finish(resource, title=folder.title, comments=folder.comments, subject=subject,
                   date=(last_update[0] or [""])[0], entries=entries)


def _list(entry_uuid: str, unique_id: str, status: str, kind: str,
          extensions: list[dict[str, Any]]) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "List", "id": codes.id_of_entry_uuid(entry_uuid)}
    if extensions:
        resource["extension"] = extensions
    resource.update({
        "identifier": [
            {"use": "official", "system": codes.RFC3986, "value": codes.uri_of_unique_id(unique_id)},
            {"use": "usual", "system": codes.RFC3986, "value": entry_uuid}],
        "status": codes.list_status(status), "mode": "working",
        "code": {"coding": [{"system": codes.LIST_TYPES, "code": kind}]},
    })
    return resource


def _finish(resource: dict[str, Any], *, title: str, comments: str, subject: dict[str, Any] | None,
            date: str, entries: Sequence[str]) -> dict[str, Any]:
    if title:
        resource["title"] = title
    if subject:
        resource["subject"] = subject
    if codes.date_time_of_dtm(date):
        resource["date"] = codes.date_time_of_dtm(date)
    if comments:
        resource["note"] = [{"text": comments}]
    if entries:
        resource["entry"] = [{"item": {"reference": reference}} for reference in entries]
    return resource
