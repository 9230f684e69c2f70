"""ITI-18 FindDocuments and FindDocumentsByReferenceId on hospital A's published manifests."""

from __future__ import annotations

from typing import Any

import pytest

from registry.models import DEPRECATED, ON_DEMAND
from tests.registry.factories import (
    CT,
    JANE,
    JANE_OLD,
    JOHN,
    NORMAL,
    PDF_FORMAT,
    RESTRICTED,
    a_document,
    a_patient,
    ask,
    ids_in,
    status_of,
    stored_query,
)

pytestmark = pytest.mark.django_db
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
BY_REFERENCE_ID = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492"
APPROVED_ONLY = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"


def find(**slots: str | list[str]) -> list[str]:
    given = {f"$XDSDocumentEntry{name}": value for name, value in slots.items()}
    given.setdefault("$XDSDocumentEntryPatientId", f"'{JANE}'")
    given.setdefault("$XDSDocumentEntryStatus", APPROVED_ONLY)
    response = ask(stored_query(FIND_DOCUMENTS, given))
    assert status_of(response) == "Success"
    return ids_in(response)


def test_find_documents_returns_the_patients_approved_documents_only() -> None:
    mine = a_document()
    a_document(patient=JOHN)
    a_document(status=DEPRECATED)
    assert find() == [mine.entry_uuid]


def test_find_documents_answers_the_stored_extrinsic_object_as_leaf_class() -> None:
    mine = a_document()
    response = ask(stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                                 "$XDSDocumentEntryStatus": APPROVED_ONLY}))
    listing = response[-1]
    assert listing[0].tag.endswith("ExtrinsicObject")
    assert listing[0].get("mimeType") == "application/dicom" and mine.unique_id in listing[0].findall(
        ".//{*}ExternalIdentifier")[1].get("value", "")


def test_find_documents_answers_object_refs_when_asked() -> None:
    mine = a_document()
    response = ask(stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                                 "$XDSDocumentEntryStatus": APPROVED_ONLY},
                                return_type="ObjectRef"))
    assert [child.tag.split("}")[1] for child in response[-1]] == ["ObjectRef"]
    assert ids_in(response) == [mine.entry_uuid]


def test_several_statuses_are_ored() -> None:
    approved, deprecated = a_document(), a_document(status=DEPRECATED)
    found = find(Status=f"('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', '{DEPRECATED}')")
    assert sorted(found) == sorted([approved.entry_uuid, deprecated.entry_uuid])


def test_a_status_list_split_over_several_values_is_read_whole() -> None:
    approved, deprecated = a_document(), a_document(status=DEPRECATED)
    request = stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                            "$XDSDocumentEntryStatus": "X"}).replace(
        b"<rim:Value>X</rim:Value>",
        f"<rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',</rim:Value>"
        f"<rim:Value>'{DEPRECATED}')</rim:Value>".encode())
    assert sorted(ids_in(ask(request))) == sorted([approved.entry_uuid, deprecated.entry_uuid])


def test_class_codes_match_code_and_scheme() -> None:
    report = a_document(class_code=("11528-7", "2.16.840.1.113883.6.1"))
    a_document()
    assert find(ClassCode="('11528-7^^^2.16.840.1.113883.6.1')") == [report.entry_uuid]
    assert find(ClassCode="('11528-7^^^another-scheme')") == []


def test_type_codes_are_ored() -> None:
    a, b = a_document(type_code=("A", "s")), a_document(type_code=("B", "s"))
    a_document(type_code=("C", "s"))
    assert sorted(find(TypeCode="('A^^^s','B^^^s')")) == sorted([a.entry_uuid, b.entry_uuid])


def test_practice_setting_codes_filter() -> None:
    cardio = a_document(practice=("CARD", "s"))
    a_document()
    assert find(PracticeSettingCode="('CARD^^^s')") == [cardio.entry_uuid]


def test_healthcare_facility_type_codes_filter() -> None:
    outpatient = a_document(facility=("OUT", "s"))
    a_document()
    assert find(HealthcareFacilityTypeCode="('OUT^^^s')") == [outpatient.entry_uuid]


def test_format_codes_find_the_kos_manifests() -> None:
    manifest = a_document()
    a_document(format_code=PDF_FORMAT)
    assert find(FormatCode="('1.2.840.10008.5.1.4.1.1.88.59^^^1.2.840.10008.2.6.1')") == [manifest.entry_uuid]


def test_creation_time_from_is_inclusive_and_to_exclusive() -> None:
    early = a_document(creation_time="20240101000000")
    late = a_document(creation_time="20240201000000")
    assert find(CreationTimeFrom="20240101000000") == [early.entry_uuid, late.entry_uuid]
    assert find(CreationTimeFrom="20240101000001") == [late.entry_uuid]
    assert find(CreationTimeTo="20240201000000") == [early.entry_uuid]


def test_a_time_of_lower_precision_is_padded() -> None:
    january = a_document(creation_time="20240115")
    a_document(creation_time="20240201")
    assert find(CreationTimeFrom="202401", CreationTimeTo="202402") == [january.entry_uuid]


def test_service_start_and_stop_times_filter() -> None:
    morning = a_document(service_start="20240115080000", service_stop="20240115083000")
    evening = a_document(service_start="20240115180000", service_stop="20240115183000")
    assert find(ServiceStartTimeFrom="20240115120000") == [evening.entry_uuid]
    assert find(ServiceStartTimeTo="20240115120000") == [morning.entry_uuid]
    assert find(ServiceStopTimeFrom="20240115120000") == [evening.entry_uuid]
    assert find(ServiceStopTimeTo="20240115120000") == [morning.entry_uuid]


def test_event_codes_within_one_slot_are_ored() -> None:
    ct = a_document(events=(CT,))
    mr = a_document(events=(("MR", "1.2.840.10008.2.16.4"),))
    found = find(EventCodeList="('CT^^^1.2.840.10008.2.16.4','MR^^^1.2.840.10008.2.16.4')")
    assert sorted(found) == sorted([ct.entry_uuid, mr.entry_uuid])


def test_event_codes_in_repeated_slots_are_anded() -> None:
    ct_chest = a_document()
    a_document(events=(CT,))
    found = find(EventCodeList=["('CT^^^1.2.840.10008.2.16.4')", "('T-D3000^^^SRT')"])
    assert found == [ct_chest.entry_uuid]


def test_confidentiality_codes_filter_and_and() -> None:
    both = a_document(confidentiality=(NORMAL, RESTRICTED))
    normal = a_document(confidentiality=(NORMAL,))
    assert sorted(find(ConfidentialityCode="('N^^^2.16.840.1.113883.5.25')")) == sorted(
        [both.entry_uuid, normal.entry_uuid])
    assert find(ConfidentialityCode=["('N^^^2.16.840.1.113883.5.25')",
                                     "('R^^^2.16.840.1.113883.5.25')"]) == [both.entry_uuid]


def test_author_person_matches_like_wildcards() -> None:
    smitty = a_document()
    a_document(authors=("^Jones^Ann^^^",))
    assert find(AuthorPerson="('%Smitty%')") == [smitty.entry_uuid]
    assert find(AuthorPerson="('^Smitt_^Gerald^^^')") == [smitty.entry_uuid]
    assert find(AuthorPerson="('Smitty')") == []


def test_on_demand_entries_are_found_only_when_asked_for() -> None:
    stable = a_document()
    on_demand = a_document(object_type=ON_DEMAND)
    assert find() == [stable.entry_uuid]
    assert find(Type=f"('{ON_DEMAND}')") == [on_demand.entry_uuid]


def test_a_query_by_the_surviving_id_finds_documents_of_the_merged_id() -> None:
    a_patient(JANE_OLD, merged_into=JANE)
    old, new = a_document(patient=JANE_OLD), a_document()
    assert sorted(find()) == sorted([old.entry_uuid, new.entry_uuid])
    assert find(PatientId=f"'{JANE_OLD}'") == []


def test_find_documents_by_reference_id_finds_the_accession() -> None:
    accession = "ACC-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO^urn:ihe:iti:xds:2013:accession"
    ordered = a_document(reference_ids=(accession,))
    a_document()
    response = ask(stored_query(BY_REFERENCE_ID, {
        "$XDSDocumentEntryPatientId": f"'{JANE}'", "$XDSDocumentEntryStatus": APPROVED_ONLY,
        "$XDSDocumentEntryReferenceIdList": f"('{accession}')"}))
    assert ids_in(response) == [ordered.entry_uuid]


def test_find_documents_with_every_filter_reads_in_a_fixed_number_of_queries(
        django_assert_max_num_queries: Any) -> None:
    for _ in range(5):
        a_document()
    with django_assert_max_num_queries(6):  # the documents with the patient's merges (1), the audit
        found = find(EventCodeList=["('CT^^^1.2.840.10008.2.16.4')", "('T-D3000^^^SRT')"],
                     ConfidentialityCode="('N^^^2.16.840.1.113883.5.25')", AuthorPerson="('%Smitty%')",
                     ClassCode="('18748-4^^^2.16.840.1.113883.6.1')", CreationTimeFrom="2024")
    assert len(found) == 5
