"""Metadata validation of ITI-42 submissions, one rule at a time (ITI TF-3 4.1, 4.2)."""

from __future__ import annotations

import copy

import pytest

from registry import errors
from registry.ebrim.read import read_submission
from registry.errors import RegistryError
from registry.metadata import APND, RPLC, Submission
from registry.validation import formats, objects
from registry.validation import submission as whole
from tests.registry import submissions
from tests.registry.submissions import CHIP_MOORE, kos_submission


def hospital_a_submission() -> Submission:
    return read_submission(kos_submission())


def codes(found: list[RegistryError]) -> list[str]:
    return [e.code for e in found]


def test_hospital_a_kos_submission_passes_every_object_check() -> None:
    submission = hospital_a_submission()
    assert objects.check_document_entry(submission.documents[0]) == []
    assert objects.check_submission_set(submission.submission_sets[0]) == []
    assert whole.check_membership(submission) == []
    assert whole.check_one_patient(submission) == []


def test_symbolic_ids_become_fresh_uuids_everywhere_they_are_referenced() -> None:
    submission = hospital_a_submission()
    document, package = submission.documents[0], submission.submission_sets[0]
    association = submission.associations[0]
    assert document.entry_uuid.startswith("urn:uuid:") and document.symbolic_id == "Document01"
    assert (association.source_uuid, association.target_uuid) == (package.entry_uuid, document.entry_uuid)
    assert "Document01" not in document.ebrim and f'id="{document.entry_uuid}"' in document.ebrim
    assert f'lid="{document.entry_uuid}"' in document.ebrim
    assert 'status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"' in document.ebrim
    assert '<rim:VersionInfo versionName="1"/>' in document.ebrim


def test_the_submission_set_classification_moves_into_its_package() -> None:
    package = hospital_a_submission().submission_sets[0]
    assert "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd" in package.ebrim


@pytest.mark.parametrize("attribute", [*submissions.DOCUMENT_CLASSIFICATIONS, *submissions.DOCUMENT_SLOTS,
                                       *submissions.DOCUMENT_IDENTIFIERS, "mimeType"])
def test_a_document_without_a_required_attribute_is_a_metadata_error(attribute: str) -> None:
    root = kos_submission()
    submissions.remove(root, attribute)
    found = objects.check_document_entry(read_submission(root).documents[0])
    assert codes(found) == [errors.METADATA_ERROR]
    assert found[0].location == f"DocumentEntry Document01 {attribute}"


def test_a_document_without_class_code_is_a_metadata_error() -> None:
    root = kos_submission()
    submissions.remove(root, "classCode")
    found = objects.check_document_entry(read_submission(root).documents[0])
    assert "has no classCode" in found[0].context


def test_a_document_of_an_unknown_object_type_is_a_metadata_error() -> None:
    root = kos_submission()
    submissions.document(root).set("objectType", "urn:uuid:00000000-0000-0000-0000-000000000000")
    found = objects.check_document_entry(read_submission(root).documents[0])
    assert codes(found) == [errors.METADATA_ERROR] and found[0].location.endswith("objectType")


def test_a_document_with_two_class_codes_is_a_metadata_error() -> None:
    root = kos_submission()
    entry = submissions.document(root)
    entry.insert(entry.index(entry.find(submissions.R + "Classification")),  # type: ignore[arg-type]
                 copy.deepcopy(next(c for c in entry.iter(submissions.R + "Classification")
                                    if c.get("nodeRepresentation") == "IMAGES")))
    found = objects.check_document_entry(read_submission(root).documents[0])
    assert [e.location for e in found] == ["DocumentEntry Document01 classCode"]


@pytest.mark.parametrize(("slot", "value"), [("creationTime", "2024-03-12"), ("creationTime", "20241312"),
                                             ("hash", "not-a-sha1"), ("size", "-3"),
                                             ("sourcePatientId", "A123")])
def test_a_badly_formatted_value_is_a_metadata_error(slot: str, value: str) -> None:
    root = kos_submission()
    submissions.set_slot(root, slot, value)
    found = objects.check_document_entry(read_submission(root).documents[0])
    assert [(e.code, e.location) for e in found] == [
        (errors.METADATA_ERROR, f"DocumentEntry Document01 {slot}")]


def test_a_patient_id_without_an_iso_assigning_authority_is_a_metadata_error() -> None:
    submission = read_submission(kos_submission(patient_id="E1001^^^IHEHIE"))
    found = objects.check_submission_set(submission.submission_sets[0])
    assert [e.location for e in found] == ["SubmissionSet SubmissionSet01 patientId"]


def test_a_document_unique_id_may_carry_an_extension() -> None:
    assert formats.is_document_unique_id("1.2.3.4^abc")
    assert not formats.is_document_unique_id("1.2.3.4^" + "x" * 17)
    assert not formats.is_document_unique_id("1.02.3")


def test_a_document_of_another_patient_does_not_match_the_submission_set() -> None:
    root = kos_submission()
    for identifier in submissions.document(root).iter(submissions.R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == submissions.DOCUMENT_PATIENT_ID:
            identifier.set("value", f"E2002^^^&{submissions.AFFINITY}&ISO")
    found = whole.check_one_patient(read_submission(root))
    assert codes(found) == [errors.PATIENT_ID_DOES_NOT_MATCH]


def test_two_objects_with_one_unique_id_are_a_duplicate_in_the_message() -> None:
    root = kos_submission()
    uid = submissions.unique_ids(root)["submission_set"]
    for identifier in submissions.document(root).iter(submissions.R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == submissions.DOCUMENT_UNIQUE_ID:
            identifier.set("value", uid)
    found = whole.check_unique_ids_in_message(read_submission(root))
    assert codes(found) == [errors.DUPLICATE_UNIQUE_ID_IN_MESSAGE]


def test_a_document_the_submission_set_does_not_hold_is_a_metadata_error() -> None:
    root = kos_submission()
    association = root.find(f"{submissions.R}RegistryObjectList/{submissions.R}Association")
    assert association is not None
    association.getparent().remove(association)  # type: ignore[union-attr]
    found = whole.check_membership(read_submission(root))
    assert codes(found) == [errors.METADATA_ERROR] and "not a member" in found[0].context


def test_a_replacement_must_come_from_a_document_of_the_submission() -> None:
    root = kos_submission()
    target = "urn:uuid:3b1c4e7e-8f2a-4d5c-9e0f-123456789abc"
    submissions.add_association(root, RPLC, "SubmissionSet01", target)
    assert codes(whole.check_relationship_sources(read_submission(root))) == [errors.METADATA_ERROR]


def test_an_unknown_association_type_is_a_metadata_error() -> None:
    root = kos_submission()
    submissions.add_association(root, "RPLC", "Document01", "SubmissionSet01")
    found = [e for a in read_submission(root).associations for e in objects.check_association(a)]
    assert codes(found) == [errors.METADATA_ERROR] and found[0].location.endswith("associationType")


def test_an_addendum_from_a_new_document_names_something_outside() -> None:
    root = kos_submission()
    target = "urn:uuid:3b1c4e7e-8f2a-4d5c-9e0f-123456789abc"
    submissions.add_association(root, APND, "Document01", target)
    assert whole.references_outside(read_submission(root)) == {target}


def test_the_patient_of_the_fixture_is_chip_moore() -> None:
    assert read_submission(kos_submission()).submission_sets[0].patient_id == CHIP_MOORE
