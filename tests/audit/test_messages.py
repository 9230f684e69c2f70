"""The AuditMessage on the wire: valid DICOM 2017c for every builder, shaped like IPF's for the same event."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from audit.events import (
    NODE_AUTHENTICATION,
    USE_OF_RESTRICTED_FUNCTION,
    DocumentRef,
    Peer,
    StudyRef,
    application_activity,
    export,
    import_,
    instances_transferred,
    patient_record,
    query,
    security_alert,
    user_authentication,
)
from audit.messages import audit_message
from audit.records import AuditRecord, AuditSource, Code, ParticipantObject, from_json, to_json

repo_root = Path(__file__).parents[2]
IHE = repo_root.parent / "shared" / "ihe"
SCHEMA = IHE / "schema" / "dicom-audit" / "dicom2017c.xsd"
EXAMPLES = IHE / "examples" / "audit"

NODE = AuditSource("HIENODE", "1.3.6.1.4.1.21367.2005.3.7",
                   type_codes=(Code("4", "DCM", "Application Server Process or Thread"),))
HOSPITAL_A_HIS = Peer("HOSPA_HIS|HOSPA", host="10.1.0.5")
HOSPITAL_A_PACS = Peer("HOSPA_PACS", host="10.1.0.20")
HOSPITAL_B_CONSUMER = Peer("http://hospb.example/consumer", host="10.2.0.10")
HOSPITAL_B_PACS = Peer("HOSPB_PACS", host="10.2.0.20")
RADIOLOGIST = Peer("dr.house@hospb", user_name="Gregory House",
                   roles=(Code("309343006", "SNOMED_CT", "Physician"),))
OPERATOR = Peer("operator", host="192.0.2.7")
THE_NODE = Peer("https://node.example/xds", host="node.example", alternative_user_id="4242")
MRN_A = "A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO"
ADHOC_QUERY = (b'<AdhocQueryRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0">'
               b'<AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"/></AdhocQueryRequest>')
CT_STUDY = StudyRef("1.2.840.99.1", sop_classes=(("1.2.840.10008.5.1.4.1.1.2", 120),
                                                   ("1.2.840.10008.5.1.4.1.1.88.59", 1)),
                    accession_numbers=("ACC-7",))


EVERY_BUILDER: dict[str, Callable[[], AuditRecord]] = {
    **{f"query {tx}": partial(
        query, transaction=tx, sender=HOSPITAL_B_CONSUMER, receiver=THE_NODE, raw_query=ADHOC_QUERY,
        query_id="q-1", patient_ids=[MRN_A], message_id="MSG-1", home_community_id="urn:oid:1.2.3",
        human_requestor=RADIOLOGIST, source=NODE)
       for tx in ("ITI-18", "ITI-9", "ITI-21", "ITI-45", "ITI-47", "ITI-78", "ITI-83")},
    **{f"import {tx}": partial(
        import_, transaction=tx, sender=HOSPITAL_A_HIS, receiver=THE_NODE, patient_id=MRN_A,
        submission_set_unique_id="1.3.6.1.4.1.21367.2010.1.2.1", source=NODE)
       for tx in ("ITI-41", "ITI-42", "RAD-68")},
    **{f"export {tx}": partial(
        export, transaction=tx, sender=THE_NODE, receiver=HOSPITAL_B_CONSUMER, patient_id=MRN_A,
        documents=[DocumentRef("1.2.3.4", repository_unique_id="1.9", home_community_id="urn:oid:1.2.3",
                               study_instance_uid="1.2.3", series_instance_uid="1.2.3.1")],
        human_requestor=RADIOLOGIST, source=NODE)
       for tx in ("ITI-43", "RAD-69")},
    **{f"patient record {tx}": partial(
        patient_record, transaction=tx, action="C", sender=HOSPITAL_A_HIS, receiver=THE_NODE,
        patient_ids=[MRN_A, "E42^^^IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"], message_id="MSG-1", source=NODE)
       for tx in ("ITI-8", "ITI-44", "ITI-104")},
    "instances transferred": lambda: instances_transferred(
        sender=HOSPITAL_A_PACS, receiver=HOSPITAL_B_PACS, patient_id=MRN_A, patient_name="DOE^JANE",
        studies=[CT_STUDY], requestor=Peer("HIENODE", host="10.0.0.1"), source=NODE),
    "login": lambda: user_authentication(user=OPERATOR, event="login", source=NODE),
    "failed logout": lambda: user_authentication(user=OPERATOR, event="logout", outcome=4,
                                                 outcome_description="session unknown", source=NODE),
    "refused handshake": lambda: security_alert(
        type_code=NODE_AUTHENTICATION, description="unknown certificate CN=evil",
        performer=Peer("CN=evil", host="203.0.113.9"), subject="203.0.113.9", source=NODE),
    "hostile input": lambda: security_alert(
        type_code=USE_OF_RESTRICTED_FUNCTION, description="XML entity expansion refused",
        performer=Peer("unknown", host="198.51.100.4"), subject="https://node.example/xds",
        subject_type="uri", source=NODE),
    "unreachable repository": lambda: security_alert(type_code="110126", outcome=8, source=NODE,
                                                     description="audit repository unreachable"),
    "application start": lambda: application_activity(event="start", launcher=Peer("honcho"), source=NODE),
    "application stop": lambda: application_activity(event="stop", source=NODE),
}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    return document


def coded(element: etree._Element | None) -> tuple[str, str, str]:
    assert element is not None
    return (element.get("csd-code", ""), element.get("codeSystemName", ""), element.get("originalText", ""))


def shape(document: etree._Element) -> dict[str, Any]:
    """What an audit repository reads from a message, without the values that differ per run."""
    event = document.find("EventIdentification")
    assert event is not None
    return {
        "event": (event.get("EventActionCode"), coded(event.find("EventID")),
                  [coded(e) for e in event.iterfind("EventTypeCode")]),
        "participants": sorted(
            (p.get("UserIsRequestor"), p.get("NetworkAccessPointTypeCode"),
             tuple(e.get("csd-code") for e in p.iterfind("RoleIDCode")))
            for p in document.iterfind("ActiveParticipant")),
        "objects": sorted(
            (o.get("ParticipantObjectTypeCode"), o.get("ParticipantObjectTypeCodeRole"),
             coded(o.find("ParticipantObjectIDTypeCode")), o.find("ParticipantObjectQuery") is not None,
             tuple(sorted(d.get("type", "") for d in o.iterfind("ParticipantObjectDetail"))))
            for o in document.iterfind("ParticipantObjectIdentification")),
    }


@pytest.mark.parametrize("build", EVERY_BUILDER.values(), ids=EVERY_BUILDER.keys())
def test_every_builder_writes_a_message_the_dicom_schema_accepts(
        schema: etree.XMLSchema, build: Callable[[], AuditRecord]) -> None:
    valid(schema, audit_message(build()))


@pytest.mark.parametrize("build", EVERY_BUILDER.values(), ids=EVERY_BUILDER.keys())
def test_the_message_says_what_the_record_says(schema: etree.XMLSchema,
                                               build: Callable[[], AuditRecord]) -> None:
    record = build()
    document = valid(schema, audit_message(record))
    event = document.find("EventIdentification")
    assert event is not None
    assert event.get("EventActionCode") == record.action_code
    assert event.get("EventOutcomeIndicator") == str(record.outcome)
    assert event.findtext("EventOutcomeDescription", default="") == record.outcome_description
    assert coded(event.find("EventID")) == (record.event_id.code, "DCM", record.event_id.display_name)
    assert [coded(e)[0] for e in event.iterfind("EventTypeCode")] == [c.code for c in record.event_type_codes]
    participants = document.findall("ActiveParticipant")
    assert [(p.get("UserID"), p.get("UserIsRequestor"), [r.get("csd-code") for r in p.iterfind("RoleIDCode")])
            for p in participants] == [
        (p.user_id, "true" if p.is_requestor else "false", [c.code for c in p.role_id_codes])
        for p in record.participants]
    source = document.find("AuditSourceIdentification")
    assert source is not None and source.get("AuditSourceID") == "HIENODE"
    objects = document.findall("ParticipantObjectIdentification")
    assert [(o.get("ParticipantObjectID"), o.get("ParticipantObjectTypeCode"))
            for o in objects] == [(r.object_id or None, str(r.type_code)) for r in record.objects]
    patients = [o.get("ParticipantObjectID") for o in objects
                if (o.get("ParticipantObjectTypeCode"), o.get("ParticipantObjectTypeCodeRole")) == ("1", "1")]
    assert patients == record.patient_ids


def test_the_query_goes_out_base64_and_comes_back_byte_for_byte(schema: etree.XMLSchema) -> None:
    raw = ADHOC_QUERY + "é\r\n".encode()
    record = query(transaction="ITI-18", sender=HOSPITAL_B_CONSUMER, receiver=THE_NODE, raw_query=raw,
                   source=NODE)
    document = valid(schema, audit_message(record))
    (written,) = document.iter("ParticipantObjectQuery")
    assert base64.b64decode(written.text or "") == raw
    (encoding,) = document.iter("ParticipantObjectDetail")
    assert (encoding.get("type"), base64.b64decode(encoding.get("value", ""))) == ("QueryEncoding", b"UTF-8")


def test_a_study_lists_its_accession_numbers_then_its_sop_classes(schema: etree.XMLSchema) -> None:
    document = valid(schema, audit_message(EVERY_BUILDER["instances transferred"]()))
    (description,) = document.iter("ParticipantObjectDescription")
    assert [(e.tag, dict(e.attrib)) for e in description] == [
        ("Accession", {"Number": "ACC-7"}),
        ("SOPClass", {"UID": "1.2.840.10008.5.1.4.1.1.2", "NumberOfInstances": "120"}),
        ("SOPClass", {"UID": "1.2.840.10008.5.1.4.1.1.88.59", "NumberOfInstances": "1"}),
    ]
    assert document.findtext(".//ParticipantObjectName") == "DOE^JANE"


def test_the_event_time_is_utc_with_milliseconds() -> None:
    cet = timezone(timedelta(hours=1))
    record = replace(EVERY_BUILDER["login"](), event_datetime=datetime(2025, 3, 1, 13, 5, 9, 120456, cet))
    event = etree.fromstring(audit_message(record)).find("EventIdentification")
    assert event is not None and event.get("EventDateTime") == "2025-03-01T12:05:09.120Z"


def test_a_record_without_a_timezone_is_not_written() -> None:
    naive = replace(EVERY_BUILDER["login"](), event_datetime=datetime(2025, 3, 1, 13, 5))
    with pytest.raises(ValueError, match="timezone"):
        audit_message(naive)


def test_the_message_is_utf8_with_its_declaration_and_keeps_accented_names(schema: etree.XMLSchema) -> None:
    record = user_authentication(user=Peer("jmuller", user_name="Jürgen Müller"), event="login", source=NODE)
    xml = audit_message(record)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "Jürgen Müller".encode() in xml
    valid(schema, xml)


def test_control_characters_from_a_hostile_peer_do_not_stop_the_record(schema: etree.XMLSchema) -> None:
    record = security_alert(type_code=USE_OF_RESTRICTED_FUNCTION, description="bad \x00\x1b byte",
                            performer=Peer("evil\x07"), subject="203.0.113.9", source=NODE)
    document = valid(schema, audit_message(record))
    assert document.findtext(".//EventOutcomeDescription") == "bad \ufffd\ufffd byte"
    # Details are base64: the alert description keeps the bytes exactly.
    (detail,) = document.iter("ParticipantObjectDetail")
    assert base64.b64decode(detail.get("value", "")) == b"bad \x00\x1b byte"


def test_a_free_text_description_travels_as_a_detail(schema: etree.XMLSchema) -> None:
    account = ParticipantObject("jmuller", type_code=1, type_code_role=6,
                                id_type_code=Code("11", "RFC-3881", "User Identifier"),
                                description="the operator's own account")
    record = replace(EVERY_BUILDER["login"](), objects=(account,))
    (detail,) = valid(schema, audit_message(record)).iter("ParticipantObjectDetail")
    assert detail.get("type") == "ParticipantObjectDescription"
    assert base64.b64decode(detail.get("value", "")) == b"the operator's own account"


def test_a_record_read_back_from_the_outbox_writes_the_same_message() -> None:
    for build in EVERY_BUILDER.values():
        record = build()
        assert from_json(to_json(record)) == record
        assert audit_message(from_json(to_json(record))) == audit_message(record)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_the_ipf_examples_pass_the_schema_as_loaded_here(schema: etree.XMLSchema, example: Path) -> None:
    assert schema.validate(etree.parse(str(example))), schema.error_log


def test_the_schema_refuses_elements_out_of_order(schema: etree.XMLSchema) -> None:
    document = etree.parse(str(EXAMPLES / "pixquery.xml")).getroot()
    source = document.find("AuditSourceIdentification")
    assert source is not None
    document.remove(source)
    document.insert(0, source)
    assert not schema.validate(document)


def example(name: str) -> etree._Element:
    return etree.parse(str(EXAMPLES / name)).getroot()


def test_a_pix_query_is_shaped_like_ipfs(schema: etree.XMLSchema) -> None:
    ipf = example("pixquery.xml")
    raw = base64.b64decode(ipf.findtext(".//ParticipantObjectQuery") or "")
    record = query(transaction="ITI-9", sender=Peer("MESA_DEPARTMENT|MESA_PIX_CLIENT", host="127.0.0.1"),
                   receiver=Peer("XYZ_HOSPITAL|MESA_XREF", host="127.0.0.1", alternative_user_id="18996"),
                   raw_query=raw, query_id="10501108", message_id="10501108",
                   patient_ids=["27^^^MPI&2.16.840.1.113883.3.37.4.1.1.2.1.1&ISO^PI",
                                "78106^^^PKLN&2.16.840.1.113883.3.37.4.1.1.2.511.1&ISO"], source=NODE)
    ours = valid(schema, audit_message(record))
    assert shape(ours) == shape(ipf)
    assert ours.findtext(".//ParticipantObjectQuery") == ipf.findtext(".//ParticipantObjectQuery")
    assert ([d.attrib for d in ours.iter("ParticipantObjectDetail")]
            == [d.attrib for d in ipf.iter("ParticipantObjectDetail")])


def test_a_pdqv3_query_is_shaped_like_ipfs(schema: etree.XMLSchema) -> None:
    ipf = example("pdqv3.xml")
    patients = [o.get("ParticipantObjectID", "") for o in ipf.iter("ParticipantObjectIdentification")
                if o.get("ParticipantObjectTypeCode") == "1"]
    record = query(transaction="ITI-47", sender=Peer("unknown", host="127.0.0.1"),
                   receiver=Peer("https://localhost:8444/mpi/ws/iti47Service", host="localhost"),
                   raw_query=b"<queryByParameter/>", query_id="35423@1.2.840.114350.1.13.0.1.7.1.1",
                   patient_ids=patients, source=NODE)
    assert shape(valid(schema, audit_message(record))) == shape(ipf)


def test_a_patient_identity_feed_is_shaped_like_ipfs(schema: etree.XMLSchema) -> None:
    ipf = example("pixfeed.xml")
    record = patient_record(transaction="ITI-8", action="C", sender=Peer("PKL|SAP-ISH", host="127.0.0.1"),
                            receiver=Peer("root|dest", host="127.0.0.1", alternative_user_id="18996"),
                            patient_ids=["7627199^^^HZLN&2.16.840.1.113883.3.37.4.1.1.2.411.1&ISO"],
                            message_id="123456", source=NODE)
    ours = valid(schema, audit_message(record))
    assert shape(ours) == shape(ipf)
    assert ([d.attrib for d in ours.iter("ParticipantObjectDetail")]
            == [d.attrib for d in ipf.iter("ParticipantObjectDetail")])


def test_an_application_start_is_shaped_like_ipfs(schema: etree.XMLSchema) -> None:
    ipf = example("start.xml")
    record = application_activity(event="start", application=Peer("", host="10.0.75.1"),
                                  launcher=Peer("WDF-LAP-1237$"), source=NODE)
    assert shape(valid(schema, audit_message(record))) == shape(ipf)
