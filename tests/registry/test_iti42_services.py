"""Registering submissions (ITI-42's service): all or nothing, replacements, resubmissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from audit.models import AuditEvent
from registry import errors, models, services
from registry.ebrim.read import read_submission
from registry.errors import RegistryErrors
from registry.metadata import RPLC
from tests.registry import submissions
from tests.registry.submissions import CHIP_MOORE, kos_submission

pytestmark = pytest.mark.django_db
RIM_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "rim.xsd"
HOSPITAL_A_REPOSITORY = "http://hospa.example/xds/repository"


@pytest.fixture(autouse=True)
def chip_moore() -> models.PatientIdentity:
    return services.patient_identity_register(patient_id=CHIP_MOORE)


def register(root: object) -> list:
    return services.submission_register(submission=read_submission(root),  # type: ignore[arg-type]
                                        source=HOSPITAL_A_REPOSITORY, source_host="10.1.0.7")


def refusal(root: object) -> list[tuple[str, str]]:
    with pytest.raises(RegistryErrors) as refused:
        register(root)
    return [(e.code, e.location) for e in refused.value.errors]


def nothing_stored() -> bool:
    return not any(m.objects.exists() for m in (models.SubmissionSet, models.DocumentEntry, models.Folder,
                                                models.Association, models.ObjectCode, models.ObjectValue))


def test_hospital_a_kos_submission_is_stored_with_its_codes_authors_and_audit() -> None:
    assert register(kos_submission()) == []
    document = models.DocumentEntry.objects.get()
    assert (document.patient_id, document.class_code, document.format_code, document.size) == (
        CHIP_MOORE, "IMAGES", "1.2.840.10008.5.1.4.1.1.88.59", 36)
    assert document.creation_time == "20240312101500" and document.service_start_time == "20240312093000"
    assert models.SubmissionSet.objects.get().content_type_code == "18748-4"
    assert models.Association.objects.get().target_uuid == document.entry_uuid
    kinds = set(models.ObjectCode.objects.filter(entry_uuid=document.entry_uuid).values_list("kind", "code"))
    assert {("eventCodeList", "CT"), ("confidentialityCode", "N"), ("classCode", "IMAGES")} <= kinds
    assert set(models.ObjectValue.objects.values_list("kind", "value")) >= {
        ("authorPerson", "^House^Gregory^^^Dr"),
        ("referenceIdList", "1.2.826.0.1.3680043.8.498.1^^^^urn:ihe:iti:xds:2016:studyInstanceUID")}
    event = AuditEvent.objects.get()
    assert (event.event_id, event.transaction, event.outcome, event.patient_ids) == (
        "110107", "ITI-42", 0, CHIP_MOORE)


def test_nothing_is_stored_when_any_error_is_found() -> None:
    root = kos_submission()
    submissions.remove(root, "typeCode")
    assert refusal(root) == [(errors.METADATA_ERROR, "DocumentEntry Document01 typeCode")]
    assert nothing_stored() and not AuditEvent.objects.exists()


def test_an_unknown_patient_id_is_refused() -> None:
    stranger = f"E9999^^^&{submissions.AFFINITY}&ISO"
    assert refusal(kos_submission(patient_id=stranger)) == [
        (errors.UNKNOWN_PATIENT_ID, "SubmissionSet SubmissionSet01 patientId")]
    assert nothing_stored()


def test_a_merged_patient_id_is_refused_naming_the_surviving_one() -> None:
    subsumed = f"E0001^^^&{submissions.AFFINITY}&ISO"
    services.patient_identity_merge(subsumed=subsumed, surviving=CHIP_MOORE)
    with pytest.raises(RegistryErrors) as refused:
        register(kos_submission(patient_id=subsumed))
    assert refused.value.errors[0].code == errors.UNKNOWN_PATIENT_ID
    assert CHIP_MOORE in refused.value.errors[0].context


def test_a_code_outside_the_value_set_names_kind_code_and_scheme() -> None:
    root = kos_submission()
    for classification in submissions.document(root).iter(submissions.R + "Classification"):
        if classification.get("nodeRepresentation") == "CT":
            classification.set("nodeRepresentation", "XX")
    with pytest.raises(RegistryErrors) as refused:
        register(root)
    [error] = refused.value.errors
    assert error.code == errors.METADATA_ERROR and error.location == "DocumentEntry Document01 eventCodeList"
    assert "'XX'" in error.context and "1.2.840.10008.2.16.4" in error.context


def test_a_submission_set_unique_id_may_be_registered_once() -> None:
    root = kos_submission()
    register(root)
    again = kos_submission()
    set_uid = submissions.unique_ids(root)["submission_set"]
    for identifier in again.iter(submissions.R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == submissions.SET_UNIQUE_ID:
            identifier.set("value", set_uid)
    assert refusal(again) == [
        (errors.DUPLICATE_UNIQUE_ID_IN_REGISTRY, "SubmissionSet SubmissionSet01 uniqueId")]


def test_the_same_document_registered_again_is_a_second_entry_of_the_new_submission_set() -> None:
    first = kos_submission()
    register(first)
    register(kos_submission(document_unique_id=submissions.unique_ids(first)["document"]))
    # ITI TF-2b 3.42.4.1.3, NIST 12004: same uniqueId, hash and size is accepted, and the new
    # submission set's HasMember names a DocumentEntry of its own.
    documents = list(models.DocumentEntry.objects.all())
    assert len(documents) == 2 and len({d.unique_id for d in documents}) == 1
    assert models.SubmissionSet.objects.count() == 2
    members = set(models.Association.objects.values_list("target_uuid", flat=True))
    assert {d.entry_uuid for d in documents} <= members


@pytest.mark.parametrize(("change", "code"), [({"hash": "0" * 40}, errors.NON_IDENTICAL_HASH),
                                              ({"size": "37"}, errors.NON_IDENTICAL_SIZE)])
def test_another_document_under_a_known_unique_id_is_refused(change: dict[str, str], code: str) -> None:
    first = kos_submission()
    register(first)
    again = kos_submission(document_unique_id=submissions.unique_ids(first)["document"], **change)
    assert refusal(again) == [(code, "DocumentEntry Document01 uniqueId")]


def test_a_replaced_document_is_deprecated() -> None:
    register(kos_submission())
    original = models.DocumentEntry.objects.get()
    replacement = kos_submission()
    submissions.add_association(replacement, RPLC, "Document01", original.entry_uuid)
    register(replacement)
    original.refresh_from_db()
    assert original.status == models.DEPRECATED and models.DEPRECATED in original.ebrim
    assert models.DocumentEntry.objects.filter(status=models.APPROVED).count() == 1


def test_a_deprecated_document_cannot_be_replaced_again() -> None:
    register(kos_submission())
    original = models.DocumentEntry.objects.get()
    original.deprecate()
    replacement = kos_submission()
    submissions.add_association(replacement, RPLC, "Document01", original.entry_uuid)
    [(code, location)] = refusal(replacement)
    assert code == errors.DEPRECATED_DOCUMENT and location.endswith("targetObject")


def test_a_replacement_of_another_patients_document_is_refused() -> None:
    other = f"E2002^^^&{submissions.AFFINITY}&ISO"
    services.patient_identity_register(patient_id=other)
    register(kos_submission(patient_id=other))
    original = models.DocumentEntry.objects.get()
    replacement = kos_submission()
    submissions.add_association(replacement, RPLC, "Document01", original.entry_uuid)
    assert [c for c, _ in refusal(replacement)] == [errors.PATIENT_ID_DOES_NOT_MATCH]


def test_a_document_referenced_but_neither_submitted_nor_registered_is_refused() -> None:
    root = kos_submission()
    submissions.add_association(root, RPLC, "Document01", "urn:uuid:3b1c4e7e-8f2a-4d5c-9e0f-123456789abc")
    [(code, location)] = refusal(root)
    assert code == errors.METADATA_ERROR and location.endswith("targetObject")
    assert nothing_stored()


def test_a_folder_is_stored_with_its_code_list_and_last_update_time() -> None:
    root = kos_submission()
    submissions.add_folder(root)
    register(root)
    folder = models.Folder.objects.get()
    assert len(folder.last_update_time) == 14 and 'name="lastUpdateTime"' in folder.ebrim
    assert models.ObjectCode.objects.filter(entry_uuid=folder.entry_uuid, kind="codeList",
                                            code="Referrals").exists()
    document = models.DocumentEntry.objects.get()
    assert models.Association.objects.filter(source_uuid=folder.entry_uuid,
                                             target_uuid=document.entry_uuid).exists()


def test_a_folder_without_a_code_list_is_a_metadata_error() -> None:
    root = kos_submission()
    submissions.add_folder(root)
    folder = root.find(f"{submissions.R}RegistryObjectList/{submissions.R}RegistryPackage[@id='Folder01']")
    assert folder is not None
    folder.remove(folder.find(submissions.R + "Classification"))  # type: ignore[arg-type]
    assert refusal(root) == [(errors.METADATA_ERROR, "Folder Folder01 codeList")]


def test_every_stored_ebrim_object_is_valid_against_rim_xsd() -> None:
    schema = etree.XMLSchema(etree.parse(str(RIM_XSD)))
    root = kos_submission()
    submissions.add_folder(root)
    register(root)
    stored = [e for model in (models.DocumentEntry, models.SubmissionSet, models.Folder, models.Association)
              for e in model.objects.values_list("ebrim", flat=True)]
    assert len(stored) == 6
    for ebrim in stored:
        schema.assertValid(etree.fromstring(ebrim))
