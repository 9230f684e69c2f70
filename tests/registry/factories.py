"""Registry rows written straight with the ORM, and ITI-18 requests as a consumer sends them.

The personas: hospital A's imaging source publishes CT manifests for Jane Doe (`JANE`), whose
old ID `JANE_OLD` was merged into hers; hospital B's radiologist queries the registry.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

from registry.ebrim.namespaces import QUERY, RIM, RS
from registry.models import (
    APPROVED,
    STABLE,
    Association,
    DocumentEntry,
    Folder,
    ObjectCode,
    ObjectValue,
    PatientIdentity,
    SubmissionSet,
)
from soap.envelope import Addressing
from soap.messages import SoapRequest

AFFINITY = "&1.3.6.1.4.1.21367.2005.3.7&ISO"
JANE = f"E100^^^{AFFINITY}"
JANE_OLD = f"E099^^^{AFFINITY}"
JOHN = f"E200^^^{AFFINITY}"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
LOINC, DCM = "2.16.840.1.113883.6.1", "1.2.840.10008.2.16.4"
KOS_FORMAT = ("1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1")
PDF_FORMAT = ("urn:ihe:iti:xds:2017:mimeTypeSufficient", "1.3.6.1.4.1.19376.1.2.3")
NORMAL = ("N", "2.16.840.1.113883.5.25")
RESTRICTED = ("R", "2.16.840.1.113883.5.25")
CT, CHEST = ("CT", DCM), ("T-D3000", "SRT")
RADIOLOGIST_A = "^Smitty^Gerald^^^"
SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "query.xsd"
_serial = itertools.count(1)
_CLASS_SCHEMES = {"classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
                  "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
                  "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
                  "eventCodeList": "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4",
                  "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
                  "codeList": "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"}


def a_uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def an_oid() -> str:
    return f"1.3.6.1.4.1.21367.13.20.1000.{next(_serial)}"


def a_patient(patient_id: str, *, merged_into: str | None = None) -> PatientIdentity:
    survivor = PatientIdentity.objects.get_or_create(patient_id=merged_into)[0] if merged_into else None
    return PatientIdentity.objects.update_or_create(patient_id=patient_id,
                                                    defaults={"merged_into": survivor})[0]


def a_document(*, patient: str = JANE, unique_id: str = "", status: str = APPROVED,
               class_code: tuple[str, str] = ("18748-4", LOINC),
               type_code: tuple[str, str] = ("18748-4", LOINC),
               format_code: tuple[str, str] = KOS_FORMAT, practice: tuple[str, str] = ("R-3027B", "SRT"),
               facility: tuple[str, str] = ("RAD", "2.16.840.1.113883.5.11"),
               creation_time: str = "20240115103000", service_start: str = "20240115100000",
               service_stop: str = "20240115101500", events: tuple[tuple[str, str], ...] = (CT, CHEST),
               confidentiality: tuple[tuple[str, str], ...] = (NORMAL,),
               authors: tuple[str, ...] = (RADIOLOGIST_A,),
               reference_ids: tuple[str, ...] = (), object_type: str = STABLE, logical_id: str = "",
               version: int = 1) -> DocumentEntry:
    """A DocumentEntry with its code lists and values, and its ebRIM ExtrinsicObject."""
    entry_uuid, unique_id = a_uuid(), unique_id or an_oid()
    codes = {"classCode": [class_code], "typeCode": [type_code], "formatCode": [format_code],
             "eventCodeList": list(events), "confidentialityCode": list(confidentiality)}
    slots = {"creationTime": [creation_time], "serviceStartTime": [service_start],
             "serviceStopTime": [service_stop], "authorPerson": list(authors),
             "urn:ihe:iti:xds:2013:referenceIdList": list(reference_ids)}
    ebrim = (f'<rim:ExtrinsicObject xmlns:rim="{RIM}" id="{entry_uuid}" lid="{logical_id or entry_uuid}" '
             f'objectType="{object_type}" status="{status}" mimeType="application/dicom">'
             f"{_slots(slots)}<rim:Name><rim:LocalizedString value=\"CT chest\"/></rim:Name>"
             f'<rim:VersionInfo versionName="{version}"/>{_classifications(entry_uuid, codes)}'
             f"{_identifier(entry_uuid, 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427', patient)}"
             f"{_identifier(entry_uuid, 'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab', unique_id)}"
             "</rim:ExtrinsicObject>")
    entry = DocumentEntry.objects.create(
        entry_uuid=entry_uuid, logical_id=logical_id or entry_uuid, version=version, status=status,
        ebrim=ebrim, unique_id=unique_id, object_type=object_type, patient_id=patient,
        class_code=class_code[0], class_scheme=class_code[1], type_code=type_code[0],
        type_scheme=type_code[1], format_code=format_code[0], format_scheme=format_code[1],
        healthcare_facility_type_code=facility[0], healthcare_facility_type_scheme=facility[1],
        practice_setting_code=practice[0], practice_setting_scheme=practice[1],
        creation_time=creation_time.ljust(14, "0"), service_start_time=service_start.ljust(14, "0"),
        service_stop_time=service_stop.ljust(14, "0"), mime_type="application/dicom",
        repository_unique_id="1.3.6.1.4.1.21367.13.20.1000.1")
    _codes(entry_uuid, {k: codes[k] for k in ("eventCodeList", "confidentialityCode")})
    _values(entry_uuid, {"authorPerson": authors, "referenceIdList": reference_ids})
    return entry


def a_submission_set(*, patient: str = JANE, status: str = APPROVED,
                     source_id: str = "1.3.6.1.4.1.21367.13.20.1000",
                     submission_time: str = "20240115110000", authors: tuple[str, ...] = (RADIOLOGIST_A,),
                     content_type: tuple[str, str] = ("18748-4", LOINC)) -> SubmissionSet:
    entry_uuid, unique_id = a_uuid(), an_oid()
    ebrim = (f'<rim:RegistryPackage xmlns:rim="{RIM}" id="{entry_uuid}" lid="{entry_uuid}" status="{status}">'
             f"{_slots({'submissionTime': [submission_time], 'authorPerson': list(authors)})}"
             f'<rim:Classification id="{a_uuid()}" classifiedObject="{entry_uuid}" '
             f'classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>'
             f"{_identifier(entry_uuid, 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446', patient)}"
             f"{_identifier(entry_uuid, 'urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8', unique_id)}"
             "</rim:RegistryPackage>")
    submission_set = SubmissionSet.objects.create(
        entry_uuid=entry_uuid, logical_id=entry_uuid, status=status, ebrim=ebrim, unique_id=unique_id,
        source_id=source_id, patient_id=patient, submission_time=submission_time.ljust(14, "0"),
        content_type_code=content_type[0], content_type_scheme=content_type[1])
    _values(entry_uuid, {"authorPerson": authors})
    return submission_set


def a_folder(*, patient: str = JANE, status: str = APPROVED, last_update_time: str = "20240115110000",
             codes: tuple[tuple[str, str], ...] = (CT,)) -> Folder:
    entry_uuid, unique_id = a_uuid(), an_oid()
    ebrim = (f'<rim:RegistryPackage xmlns:rim="{RIM}" id="{entry_uuid}" lid="{entry_uuid}" status="{status}">'
             f"{_slots({'lastUpdateTime': [last_update_time]})}"
             f'<rim:Classification id="{a_uuid()}" classifiedObject="{entry_uuid}" '
             f'classificationNode="urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"/>'
             f"{_classifications(entry_uuid, {'codeList': list(codes)})}"
             f"{_identifier(entry_uuid, 'urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a', patient)}"
             f"{_identifier(entry_uuid, 'urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a', unique_id)}"
             "</rim:RegistryPackage>")
    folder = Folder.objects.create(entry_uuid=entry_uuid, logical_id=entry_uuid, status=status, ebrim=ebrim,
                                   unique_id=unique_id, patient_id=patient,
                                   last_update_time=last_update_time.ljust(14, "0"))
    _codes(entry_uuid, {"codeList": list(codes)})
    return folder


def an_association(source: str, target: str, *, kind: str = HAS_MEMBER, ss_status: str = "") -> Association:
    entry_uuid = a_uuid()
    slot = _slots({"SubmissionSetStatus": [ss_status]}) if ss_status else ""
    ebrim = (f'<rim:Association xmlns:rim="{RIM}" id="{entry_uuid}" associationType="{kind}" '
             f'sourceObject="{source}" targetObject="{target}" status="{APPROVED}">{slot}</rim:Association>')
    return Association.objects.create(entry_uuid=entry_uuid, association_type=kind, source_uuid=source,
                                      target_uuid=target, submission_set_status=ss_status, ebrim=ebrim)


def a_submission(*documents: DocumentEntry, folder: Folder | None = None,
                 patient: str = JANE) -> tuple[SubmissionSet, list[Association]]:
    """A SubmissionSet holding the documents (and the folder, filed with them), as ITI-42 leaves it."""
    submission_set = a_submission_set(patient=patient)
    made = [an_association(submission_set.entry_uuid, d.entry_uuid, ss_status="Original") for d in documents]
    if folder is not None:
        made.append(an_association(submission_set.entry_uuid, folder.entry_uuid))
        for document in documents:
            filed = an_association(folder.entry_uuid, document.entry_uuid)
            made += [filed, an_association(submission_set.entry_uuid, filed.entry_uuid)]
    return submission_set, made


def _slots(values: dict[str, list[str]]) -> str:
    return "".join(f'<rim:Slot name={quoteattr(name)}><rim:ValueList>'
                   + "".join(f"<rim:Value>{_text(v)}</rim:Value>" for v in found)
                   + "</rim:ValueList></rim:Slot>" for name, found in values.items() if found)


def _classifications(entry_uuid: str, codes: dict[str, list[tuple[str, str]]]) -> str:
    return "".join(
        f'<rim:Classification id="{a_uuid()}" classificationScheme="{_CLASS_SCHEMES[kind]}" '
        f"classifiedObject=\"{entry_uuid}\" nodeRepresentation={quoteattr(code)}>"
        f"{_slots({'codingScheme': [scheme]})}</rim:Classification>"
        for kind, found in codes.items() for code, scheme in found)


def _identifier(entry_uuid: str, scheme: str, value: str) -> str:
    return (f'<rim:ExternalIdentifier id="{a_uuid()}" registryObject="{entry_uuid}" '
            f"identificationScheme=\"{scheme}\" value={quoteattr(value)}/>")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;")


def _codes(entry_uuid: str, codes: dict[str, list[tuple[str, str]]]) -> None:
    ObjectCode.objects.bulk_create(ObjectCode(entry_uuid=entry_uuid, kind=kind, code=code, scheme=scheme)
                                   for kind, found in codes.items() for code, scheme in found)


def _values(entry_uuid: str, values: dict[str, tuple[str, ...]]) -> None:
    ObjectValue.objects.bulk_create(ObjectValue(entry_uuid=entry_uuid, kind=kind, value=value)
                                    for kind, found in values.items() for value in found)


def stored_query(query_id: str, slots: dict[str, str | list[str]], *,
                 return_type: str = "LeafClass") -> bytes:
    """A query:AdhocQueryRequest; a slot given a list repeats the Slot (AND), one per value."""
    body = "".join(
        f'<rim:Slot name="{name}"><rim:ValueList><rim:Value>{_text(value)}</rim:Value>'
        "</rim:ValueList></rim:Slot>"
        for name, given in slots.items() for value in ([given] if isinstance(given, str) else given))
    return (f'<query:AdhocQueryRequest xmlns:query="{QUERY}" xmlns:rim="{RIM}">'
            f'<query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/>'
            f'<rim:AdhocQuery id="{query_id}">{body}</rim:AdhocQuery></query:AdhocQueryRequest>').encode()


@functools.cache
def query_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def ask(request_xml: bytes) -> etree._Element:
    """Hospital B's consumer asks through the ITI-18 handler; the answer is schema-valid."""
    from registry.handlers.iti18 import registry_stored_query

    response = registry_stored_query(SoapRequest(
        endpoint="registry", addressing=Addressing(
            action="urn:ihe:iti:2007:RegistryStoredQuery", message_id=a_uuid(),
            reply_to="http://www.w3.org/2005/08/addressing/anonymous", to="http://node/xds/registry"),
        body=etree.fromstring(request_xml), attachments={}, folder=Path("/nonexistent"),
        remote_addr="10.2.0.10", mtom=False))
    assert response.action == "urn:ihe:iti:2007:RegistryStoredQueryResponse"
    query_schema().assertValid(response.body)
    return response.body


def ids_in(response: etree._Element) -> list[str]:
    """The ids of the objects (or ObjectRefs) the response lists, in order."""
    listing = response.find(f"{{{RIM}}}RegistryObjectList")
    assert listing is not None
    return [child.get("id", "") for child in listing]


def error_codes(response: etree._Element) -> list[str]:
    return [e.get("errorCode", "") for e in response.iter(f"{{{RS}}}RegistryError")]


def status_of(response: etree._Element) -> str:
    return response.get("status", "").rsplit(":", 1)[-1]
