"""The wire of the audit trail: an AuditRecord written as a DICOM PS3.15 A.5 AuditMessage.

The layout is dicom2017c.xsd with IHE's changes (ITI TF-2: 3.20.7), element for element and in
its order; coded values carry csd-code, codeSystemName and originalText (DICOM CP-1638). This is
the only module that writes audit XML.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

from lxml import etree

from audit.records import AuditRecord, AuditSource, Code, Participant, ParticipantObject

# Characters XML 1.0 cannot carry. Hostile input ends up in audit records (a peer's user id, the
# reason of a security alert); it must not stop the record from being written.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def audit_message(record: AuditRecord) -> bytes:
    """The AuditMessage document of one record: UTF-8, with its XML declaration."""
    root = etree.Element("AuditMessage")
    _event_identification(root, record)
    for participant in record.participants:
        _active_participant(root, participant)
    _audit_source_identification(root, record.source)
    for obj in record.objects:
        _participant_object_identification(root, obj)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def event_datetime(moment: datetime) -> str:
    """xs:dateTime in UTC with milliseconds and 'Z', as the audit repositories expect it."""
    if moment.tzinfo is None:
        raise ValueError("an audit EventDateTime needs a timezone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_identification(root: etree._Element, record: AuditRecord) -> None:
    element = etree.SubElement(root, "EventIdentification", {
        "EventActionCode": record.action_code,
        "EventDateTime": event_datetime(record.event_datetime),
        "EventOutcomeIndicator": str(record.outcome),
    })
    _coded(element, "EventID", record.event_id)
    for code in record.event_type_codes:
        _coded(element, "EventTypeCode", code)
    if record.outcome_description:
        etree.SubElement(element, "EventOutcomeDescription").text = _text(record.outcome_description)
    for code in record.purpose_of_use:
        _coded(element, "PurposeOfUse", code)


def _active_participant(root: etree._Element, participant: Participant) -> None:
    element = etree.SubElement(root, "ActiveParticipant")
    element.set("UserID", _text(participant.user_id))  # required, may be empty
    _optional(element, "AlternativeUserID", participant.alternative_user_id)
    _optional(element, "UserName", participant.user_name)
    element.set("UserIsRequestor", "true" if participant.is_requestor else "false")
    _optional(element, "NetworkAccessPointID", participant.network_access_point_id)
    if participant.network_access_point_type_code is not None:
        element.set("NetworkAccessPointTypeCode", str(participant.network_access_point_type_code))
    for code in participant.role_id_codes:
        _coded(element, "RoleIDCode", code)


def _audit_source_identification(root: etree._Element, source: AuditSource) -> None:
    element = etree.SubElement(root, "AuditSourceIdentification")
    _optional(element, "AuditEnterpriseSiteID", source.enterprise_site_id)
    element.set("AuditSourceID", _text(source.source_id))
    for code in source.type_codes:
        # The one coded value whose codeSystemName and originalText are optional (a bare 1-9 is valid).
        type_code = etree.SubElement(element, "AuditSourceTypeCode", {"csd-code": _text(code.code)})
        _optional(type_code, "codeSystemName", code.system_name)
        _optional(type_code, "originalText", code.display_name)


def _participant_object_identification(root: etree._Element, obj: ParticipantObject) -> None:
    element = etree.SubElement(root, "ParticipantObjectIdentification")
    _optional(element, "ParticipantObjectID", obj.object_id)  # IHE: not always mandatory
    element.set("ParticipantObjectTypeCode", str(obj.type_code))
    if obj.type_code_role is not None:
        element.set("ParticipantObjectTypeCodeRole", str(obj.type_code_role))
    if obj.data_life_cycle is not None:
        element.set("ParticipantObjectDataLifeCycle", str(obj.data_life_cycle))
    _coded(element, "ParticipantObjectIDTypeCode", obj.id_type_code)
    # The schema allows a name or a query, not both; a query object is identified by its query.
    if obj.query is not None:
        etree.SubElement(element, "ParticipantObjectQuery").text = _base64(obj.query)
    elif obj.name:
        etree.SubElement(element, "ParticipantObjectName").text = _text(obj.name)
    for detail_type, value in obj.details:
        _detail(element, detail_type, value)
    if obj.description:
        _detail(element, "ParticipantObjectDescription", obj.description.encode())
    if obj.accession_numbers or obj.sop_classes:
        # Order per DICOMObjectDescriptionContents: MPPS*, Accession*, SOPClass*, ...
        description = etree.SubElement(element, "ParticipantObjectDescription")
        for number in obj.accession_numbers:
            etree.SubElement(description, "Accession", {"Number": _text(number)})
        for uid, count in obj.sop_classes:
            etree.SubElement(description, "SOPClass", {"UID": _text(uid), "NumberOfInstances": str(count)})


def _coded(parent: etree._Element, tag: str, code: Code) -> None:
    # originalText is required by the schema: the code stands in when there is no display text.
    etree.SubElement(parent, tag, {
        "csd-code": _text(code.code),
        "codeSystemName": _text(code.system_name),
        "originalText": _text(code.display_name or code.code),
    })


def _detail(parent: etree._Element, detail_type: str, value: bytes) -> None:
    # Values are base64 so that whatever a peer sent survives unchanged (PS3.15 A.5.1, ValuePair).
    etree.SubElement(parent, "ParticipantObjectDetail", {"type": _text(detail_type), "value": _base64(value)})


def _optional(element: etree._Element, name: str, value: str) -> None:
    if value:
        element.set(name, _text(value))


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")
