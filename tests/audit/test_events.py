"""The audit builders: who takes which role, which objects each transaction names (ITI TF-2, PS3.15)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pytest
from pytest_django.fixtures import Settings

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
    node_source,
    patient_record,
    query,
    security_alert,
    this_node,
    user_authentication,
)
from audit.records import AuditRecord, AuditSource, Code, Participant, ParticipantObject

NODE = AuditSource("HIENODE", "1.3.6.1.4.1.21367.2005.3.7")
HOSPITAL_A_PACS = Peer("HOSPA_PACS", host="10.1.0.20")
HOSPITAL_A_SOURCE = Peer("http://www.w3.org/2005/08/addressing/anonymous", host="10.1.0.10")
HOSPITAL_A_HIS = Peer("HOSPA_HIS|HOSPA", host="10.1.0.5")
HOSPITAL_B_CONSUMER = Peer("http://hospb.example/consumer", host="hospb-pacs.example")
HOSPITAL_B_PACS = Peer("HOSPB_PACS", host="10.2.0.20")
RADIOLOGIST = Peer("dr.house@hospb", user_name="Gregory House",
                   roles=(Code("309343006", "SNOMED_CT", "Physician"),))
OPERATOR = Peer("operator", host="192.0.2.7")
REGISTRY = Peer("https://node.example/registry", host="node.example", alternative_user_id="4242")
MRN_A = "A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO"
ENTERPRISE_ID = "E42^^^IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"
SOURCE_ROLE, DESTINATION_ROLE = "110153", "110152"


def roles(participant: Participant) -> list[str]:
    return [code.code for code in participant.role_id_codes]


def by_role(record: AuditRecord, role: str) -> Participant:
    return next(p for p in record.participants if role in roles(p))


def details(obj: ParticipantObject) -> dict[str, bytes]:
    return dict(obj.details)


def query_object(record: AuditRecord) -> ParticipantObject:
    return next(o for o in record.objects if o.type_code_role == 24)


def a_stored_query(**overrides: object) -> AuditRecord:
    arguments: dict = {"transaction": "ITI-18", "sender": HOSPITAL_B_CONSUMER, "receiver": REGISTRY,
                       "raw_query": b"<AdhocQueryRequest/>", "patient_ids": [ENTERPRISE_ID],
                       "query_id": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", "source": NODE}
    return query(**{**arguments, **overrides})


def test_a_stored_query_is_a_query_named_as_the_table_names_its_transaction() -> None:
    record = a_stored_query()
    assert (record.event_id.code, record.action_code, record.transaction) == ("110112", "E", "ITI-18")
    assert record.event_type_codes[0] == Code("ITI-18", "IHE Transactions", "Registry Stored Query")
    assert query_object(record).id_type_code == record.event_type_codes[0]
    assert record.patient_ids == [ENTERPRISE_ID]


def test_the_consumer_asks_and_the_registry_answers() -> None:
    record = a_stored_query()
    consumer, registry = by_role(record, SOURCE_ROLE), by_role(record, DESTINATION_ROLE)
    assert (consumer.user_id, consumer.is_requestor) == (HOSPITAL_B_CONSUMER.user_id, True)
    assert (registry.user_id, registry.is_requestor, registry.alternative_user_id) == (
        REGISTRY.user_id, False, "4242")
    assert record.requestor == consumer


def test_the_radiologist_is_a_requestor_beside_the_consumer_system_with_her_roles() -> None:
    record = a_stored_query(human_requestor=RADIOLOGIST)
    person = next(p for p in record.participants if p.user_id == RADIOLOGIST.user_id)
    assert person.is_requestor and person.user_name == "Gregory House"
    assert roles(person) == ["309343006"]
    assert len(record.participants) == 3


def test_a_stored_query_carries_its_encoding_and_the_xca_home_community() -> None:
    record = a_stored_query(home_community_id="urn:oid:1.3.6.1.4.1.21367.13.70.1")
    assert details(query_object(record)) == {
        "QueryEncoding": b"UTF-8",
        "urn:ihe:iti:xca:2010:homeCommunityId": b"urn:oid:1.3.6.1.4.1.21367.13.70.1",
    }
    assert query_object(record).query == b"<AdhocQueryRequest/>"
    assert query_object(record).object_id == "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"


@pytest.mark.parametrize("transaction", ["ITI-9", "ITI-21"])
def test_an_hl7_v2_query_carries_its_message_control_id(transaction: str) -> None:
    record = query(transaction=transaction, sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                   raw_query=b"MSH|^~\\&|...", message_id="MSG0001", query_id="MSG0001", source=NODE)
    assert details(query_object(record)) == {"MSH-10": b"MSG0001"}


@pytest.mark.parametrize("transaction", ["ITI-45", "ITI-47", "ITI-78", "ITI-83"])
def test_other_queries_name_no_msh_10_and_no_encoding(transaction: str) -> None:
    record = query(transaction=transaction, sender=HOSPITAL_B_CONSUMER, receiver=REGISTRY,
                   raw_query=b"?family=MOUSE", message_id="urn:uuid:1", source=NODE)
    assert details(query_object(record)) == {}


def test_a_builder_refuses_a_transaction_it_does_not_describe() -> None:
    with pytest.raises(ValueError, match="ITI-41"):
        a_stored_query(transaction="ITI-41")
    with pytest.raises(ValueError, match="ITI-18"):
        import_(transaction="ITI-18", sender=HOSPITAL_A_SOURCE, receiver=REGISTRY, source=NODE)
    with pytest.raises(ValueError, match="ITI-99"):
        patient_record(transaction="ITI-99", action="C", sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                       patient_ids=[MRN_A], source=NODE)


@pytest.mark.parametrize("transaction", ["ITI-41", "ITI-42", "RAD-68"])
def test_a_received_submission_is_an_import_of_its_submission_set_for_one_patient(transaction: str) -> None:
    record = import_(transaction=transaction, sender=HOSPITAL_A_SOURCE, receiver=REGISTRY,
                     patient_id=MRN_A, submission_set_unique_id="1.3.6.1.4.1.21367.2010.1.2.1", source=NODE)
    assert (record.event_id.code, record.action_code, record.transaction) == ("110107", "C", transaction)
    assert by_role(record, SOURCE_ROLE).is_requestor and not by_role(record, DESTINATION_ROLE).is_requestor
    patient, submission_set = record.objects
    assert (patient.object_id, patient.type_code, patient.type_code_role) == (MRN_A, 1, 1)
    assert (submission_set.type_code, submission_set.type_code_role) == (2, 20)
    assert submission_set.id_type_code == Code("urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
                                               "IHE XDS Metadata", "submission set classificationNode")


def test_a_submission_refused_before_its_metadata_was_read_still_names_who_sent_it() -> None:
    record = import_(transaction="ITI-41", sender=HOSPITAL_A_SOURCE, receiver=REGISTRY, outcome=8,
                     outcome_description="XDSRegistryMetadataError", source=NODE)
    assert record.objects == ()
    assert by_role(record, SOURCE_ROLE).user_id == HOSPITAL_A_SOURCE.user_id


def test_the_repository_answering_a_retrieve_exports_documents_to_the_requestor() -> None:
    record = export(transaction="ITI-43", sender=REGISTRY, receiver=HOSPITAL_B_CONSUMER, patient_id=MRN_A,
                    documents=[DocumentRef("1.2.3.4", repository_unique_id="1.3.6.1.4.1.21367.2010.1.2.1125",
                                           home_community_id="urn:oid:1.2.3")], source=NODE)
    assert (record.event_id.code, record.action_code) == ("110106", "R")
    assert by_role(record, DESTINATION_ROLE).is_requestor
    assert not by_role(record, SOURCE_ROLE).is_requestor
    document = record.objects[1]
    assert (document.object_id, document.type_code, document.type_code_role) == ("1.2.3.4", 2, 3)
    assert document.id_type_code == Code("9", "RFC-3881", "Report Number")
    assert details(document) == {"Repository Unique Id": b"1.3.6.1.4.1.21367.2010.1.2.1125",
                                 "ihe:homeCommunityID": b"urn:oid:1.2.3"}


def test_a_retrieved_imaging_document_names_its_study_and_series() -> None:
    record = export(transaction="RAD-69", sender=REGISTRY, receiver=HOSPITAL_B_CONSUMER,
                    documents=[DocumentRef("1.2.3.4.5.1", study_instance_uid="1.2.3",
                                           series_instance_uid="1.2.3.4", repository_unique_id="1.9")],
                    source=NODE)
    assert record.event_type_codes[0].display_name == "Retrieve Imaging Document Set"
    assert list(details(record.objects[0])) == ["Study Instance Unique Id", "Series Instance Unique Id",
                                                "Repository Unique Id"]


def test_a_feed_records_each_patient_with_the_message_control_id() -> None:
    record = patient_record(transaction="ITI-8", action="C", sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                            patient_ids=[MRN_A], message_id="HOSPA-0001", source=NODE)
    assert (record.event_id.code, record.action_code, record.transaction) == ("110110", "C", "ITI-8")
    assert record.patient_ids == [MRN_A]
    assert details(record.objects[0]) == {"MSH-10": b"HOSPA-0001"}


def test_a_v3_feed_names_its_message_by_its_id_and_a_fhir_feed_by_nothing() -> None:
    v3 = patient_record(transaction="ITI-44", action="U", sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                        patient_ids=[MRN_A], message_id="21acf7be-007c-41e6-b176", source=NODE)
    fhir = patient_record(transaction="ITI-104", action="C", sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                          patient_ids=[MRN_A], message_id="ignored", source=NODE)
    assert details(v3.objects[0]) == {"II": b"21acf7be-007c-41e6-b176"}
    assert details(fhir.objects[0]) == {}


def test_a_patient_record_needs_a_known_action_and_a_patient() -> None:
    with pytest.raises(ValueError, match="'E'"):
        patient_record(transaction="ITI-8", action="E", sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                       patient_ids=[MRN_A], source=NODE)
    with pytest.raises(ValueError, match="at least one patient"):
        patient_record(transaction="ITI-8", action="C", sender=HOSPITAL_A_HIS, receiver=REGISTRY,
                       patient_ids=[], source=NODE)


def a_prefetch(**overrides: object) -> AuditRecord:
    arguments: dict = {
        "sender": HOSPITAL_A_PACS, "receiver": HOSPITAL_B_PACS, "patient_id": MRN_A,
        "studies": [StudyRef("1.2.840.99.1", sop_classes=(("1.2.840.10008.5.1.4.1.1.2", 120),),
                             accession_numbers=("ACC-7",))],
        "requestor": Peer("HIENODE", host="10.0.0.1"), "source": NODE}
    return instances_transferred(**{**arguments, **overrides})


def test_a_c_move_asked_by_this_node_makes_it_the_requestor_not_the_pacs() -> None:
    record = a_prefetch()
    assert (record.event_id.code, record.action_code) == ("110104", "R")
    sender, receiver, node = record.participants
    assert (sender.user_id, roles(sender), sender.is_requestor) == ("HOSPA_PACS", [SOURCE_ROLE], False)
    assert (receiver.user_id, roles(receiver), receiver.is_requestor) == (
        "HOSPB_PACS", [DESTINATION_ROLE], False)
    assert (node.user_id, node.is_requestor) == ("HIENODE", True)


def test_a_radiologists_fetch_names_her_beside_the_node_as_requestors() -> None:
    record = a_prefetch(human_requestor=Peer("rita"))
    *_, node, person = record.participants
    assert (node.user_id, node.is_requestor, person.user_id, person.is_requestor) == (
        "HIENODE", True, "rita", True)


def test_a_c_store_push_makes_the_sender_the_requestor() -> None:
    record = a_prefetch(requestor=None, receiver=Peer("HIENODE"), action="C")
    assert record.requestor is not None and record.requestor.user_id == "HOSPA_PACS"
    assert record.action_code == "C"


def test_a_transferred_study_carries_its_sop_classes_and_accession_numbers() -> None:
    study, patient = a_prefetch().objects
    assert (study.object_id, study.type_code, study.type_code_role) == ("1.2.840.99.1", 2, 3)
    assert study.id_type_code == Code("110180", "DCM", "Study Instance UID")
    assert study.sop_classes == (("1.2.840.10008.5.1.4.1.1.2", 120),)
    assert study.accession_numbers == ("ACC-7",)
    assert (patient.object_id, patient.type_code_role) == (MRN_A, 1)


def test_a_transfer_names_a_study_and_a_known_action() -> None:
    with pytest.raises(ValueError, match="at least one study"):
        a_prefetch(studies=[])
    with pytest.raises(ValueError, match="'D'"):
        a_prefetch(action="D")


def test_a_refused_handshake_is_a_node_authentication_alert_about_the_peer() -> None:
    record = security_alert(type_code=NODE_AUTHENTICATION, description="unknown certificate CN=evil",
                            performer=Peer("CN=evil", host="203.0.113.9"), subject="203.0.113.9",
                            source=NODE)
    assert (record.event_id.code, record.action_code, record.outcome) == ("110113", "E", 4)
    assert record.event_type_codes == (Code("110126", "DCM", "Node Authentication"),)
    assert record.outcome_description == "unknown certificate CN=evil"
    reporter, performer = record.participants
    assert (reporter.user_id, reporter.is_requestor) == ("HIENODE", False)
    assert (performer.user_id, performer.is_requestor) == ("CN=evil", True)
    (subject,) = record.objects
    assert (subject.object_id, subject.type_code, subject.type_code_role) == ("203.0.113.9", 2, 13)
    assert subject.id_type_code == Code("110182", "DCM", "Node ID")
    assert details(subject) == {"Alert Description": b"unknown certificate CN=evil"}


def test_hostile_input_is_a_use_of_restricted_function_about_the_endpoint() -> None:
    record = security_alert(type_code=USE_OF_RESTRICTED_FUNCTION, description="XML entity expansion refused",
                            subject="https://node.example/registry", subject_type="uri",
                            performer=Peer("unknown", host="198.51.100.4"), source=NODE)
    assert record.event_type_codes[0].display_name == "Use of Restricted Function"
    assert record.objects[0].id_type_code == Code("12", "RFC-3881", "URI")


def test_an_alert_without_a_subject_is_reported_by_this_node_alone() -> None:
    # As the forwarder raises it when the audit repository is unreachable.
    record = security_alert(type_code="110126", outcome=8, source=NODE,
                            description="audit repository unreachable")
    (reporter,) = record.participants
    assert (reporter.user_id, reporter.is_requestor, record.outcome) == ("HIENODE", True, 8)
    assert record.objects == ()


def test_an_unknown_alert_type_is_refused() -> None:
    with pytest.raises(ValueError, match="CID 403"):
        security_alert(type_code="110999", description="?", source=NODE)


@pytest.mark.parametrize(("event", "code"), [("login", "110122"), ("logout", "110123")])
def test_the_operator_logging_in_and_out_is_a_user_authentication(
        event: Literal["login", "logout"], code: str) -> None:
    record = user_authentication(user=OPERATOR, event=event, source=NODE)
    assert (record.event_id.code, record.event_type_codes[0].code) == ("110114", code)
    operator, node = record.participants
    assert (operator.user_id, operator.is_requestor, operator.network_access_point_id) == (
        "operator", True, "192.0.2.7")
    assert (node.user_id, node.is_requestor) == ("HIENODE", False)


def test_a_failed_login_keeps_its_outcome() -> None:
    record = user_authentication(user=OPERATOR, event="login", outcome=4, outcome_description="bad password",
                                 source=NODE)
    assert (record.outcome, record.outcome_description) == (4, "bad password")


@pytest.mark.parametrize(("event", "code"), [("start", "110120"), ("stop", "110121")])
def test_a_process_starting_and_stopping_is_an_application_activity(
        event: Literal["start", "stop"], code: str) -> None:
    record = application_activity(event=event, application=this_node("hienode-mllp"),
                                  launcher=Peer("honcho"), source=NODE)
    assert (record.event_id.code, record.action_code) == ("110100", "E")
    assert record.event_type_codes[0].code == code
    application, launcher = record.participants
    assert (application.user_id, roles(application), application.is_requestor) == (
        "hienode-mllp", ["110150"], False)
    assert (launcher.user_id, roles(launcher), launcher.is_requestor) == ("honcho", ["110151"], True)


def test_an_application_without_a_known_launcher_is_alone() -> None:
    record = application_activity(event="start", source=NODE)
    assert [p.user_id for p in record.participants] == ["HIENODE"]


def test_the_node_is_the_audit_source_named_by_its_ae_title_and_affinity_domain(
        settings: Settings) -> None:
    settings.DICOM_AE_TITLE = "HIENODE"
    settings.AFFINITY_DOMAIN_AUTHORITY = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"
    source = node_source()
    assert (source.source_id, source.enterprise_site_id) == ("HIENODE", "1.3.6.1.4.1.21367.2005.3.7")
    assert source.type_codes == (Code("4", "DCM", "Application Server Process or Thread"),)
    settings.AUDIT_SOURCE_ID = "HIE-AUDIT"
    assert node_source().source_id == "HIE-AUDIT"


def test_builders_default_to_the_node_as_audit_source(settings: Settings) -> None:
    settings.DICOM_AE_TITLE = "HIENODE-TEST"
    assert a_stored_query(source=None).source.source_id == "HIENODE-TEST"


def test_an_ip_address_and_a_machine_name_are_told_apart() -> None:
    record = a_prefetch(receiver=Peer("HOSPB_PACS", host="::1"), sender=Peer("HOSPA_PACS", host="pacs.hospa"))
    assert [p.network_access_point_type_code for p in record.participants] == [1, 2, 2]


def test_this_node_carries_its_process_id_and_machine_name() -> None:
    node = this_node("https://node.example/registry")
    assert node.alternative_user_id.isdigit() and node.host


def test_an_outcome_outside_the_four_values_and_a_naive_time_are_refused() -> None:
    with pytest.raises(ValueError, match="EventOutcomeIndicator 3"):
        a_stored_query(outcome=3)
    with pytest.raises(ValueError, match="timezone"):
        a_stored_query(event_datetime=datetime(2025, 1, 1, 12, 0))
