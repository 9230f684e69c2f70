"""ITI-57 and Folders: a new version stays in its Folders, the operator files an existing document
into a Folder and takes one out of it (ITI TF-2b 3.57.4.1.3.3), each answered with a schema-valid
RegistryResponse."""

from __future__ import annotations

import functools
import uuid
from pathlib import Path

import pytest
from lxml import etree

from audit.models import AuditEvent
from registry import errors, models, services
from registry.ebrim.namespaces import RS
from registry.ebrim.read import read_submission
from registry.handlers.iti57 import update_document_set
from registry.metadata import HAS_MEMBER, UPDATE_AVAILABILITY_STATUS
from soap.envelope import Addressing
from soap.messages import SoapRequest
from tests.registry import updates
from tests.registry.factories import ask, ids_in, stored_query
from tests.registry.submissions import CHIP_MOORE, R, add_folder, document, kos_submission

RS_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "rs.xsd"
OPERATOR = "http://operator.hienode.example/document-administrator"
GET_FOLDER_AND_CONTENTS = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
LONG_AGO = "20200101000000"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


@functools.cache
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(RS_XSD)))


def answer(root: etree._Element) -> tuple[str, list[str]]:
    """The operator's ITI-57 through the handler: status and error codes of a schema-valid answer."""
    response = update_document_set(SoapRequest(
        endpoint="registry", addressing=Addressing(
            action="urn:ihe:iti:2010:UpdateDocumentSet", message_id=f"urn:uuid:{uuid.uuid4()}",
            reply_to=OPERATOR, to="http://node/xds/registry"),
        body=root, attachments={}, folder=Path("/nonexistent"), remote_addr="127.0.0.1", mtom=False))
    rs_schema().assertValid(response.body)
    assert response.body.tag == f"{{{RS}}}RegistryResponse"
    codes = [e.get("errorCode", "") for e in response.body.iter(f"{{{RS}}}RegistryError")]
    return response.body.get("status", ""), codes


def filed() -> tuple[models.Folder, models.DocumentEntry, models.Association]:
    """Hospital A's manifest, filed in its folder 'Referrals' by ITI-42, the folder last updated long ago."""
    root = kos_submission()
    add_folder(root)
    services.submission_register(submission=read_submission(root), source="hospital A")
    folder = models.Folder.objects.get()
    folder.touch(LONG_AGO)
    entry = models.DocumentEntry.objects.get()
    membership = models.Association.objects.get(source_uuid=folder.entry_uuid, target_uuid=entry.entry_uuid)
    return folder, entry, membership


def unfiled() -> models.DocumentEntry:
    """Another manifest of hospital A's, in no folder."""
    root = kos_submission()
    services.submission_register(submission=read_submission(root), source="hospital A")
    unique_id = next(i.get("value") for i in document(root).iter(R + "ExternalIdentifier")
                     if i.get("identificationScheme") == "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab")
    return models.DocumentEntry.objects.get(unique_id=unique_id)


def submission_set_only() -> etree._Element:
    """An ITI-57 SubmitObjectsRequest with the operator's submission set and nothing else yet."""
    root = kos_submission()
    objects = root.find(R + "RegistryObjectList")
    assert objects is not None
    objects.remove(document(root))
    for association in objects.findall(R + "Association"):
        objects.remove(association)
    return root


def association(root: etree._Element, kind: str, source: str, target: str, *, symbolic_id: str = "",
                **slots: str) -> str:
    objects = root.find(R + "RegistryObjectList")
    assert objects is not None
    given = symbolic_id or f"as-{uuid.uuid4().hex[:8]}"
    made = etree.SubElement(objects, R + "Association", id=given, associationType=kind,
                            sourceObject=source, targetObject=target)
    for name, value in slots.items():
        slot = etree.SubElement(made, R + "Slot", name=name)
        etree.SubElement(etree.SubElement(slot, R + "ValueList"), R + "Value").text = value
    return given


def adding(folder: models.Folder, entry: models.DocumentEntry, *, listed: bool = True) -> etree._Element:
    """Add existing DocumentEntry to Folder: the HasMember, and the submission set's HasMember of it."""
    root = submission_set_only()
    filing = association(root, HAS_MEMBER, folder.entry_uuid, entry.entry_uuid, symbolic_id="as-filing")
    if listed:
        association(root, HAS_MEMBER, "SubmissionSet01", filing)
    return root


def removing(membership: models.Association, *, new: str = models.DEPRECATED,
             original: str = models.APPROVED) -> etree._Element:
    """Remove DocumentEntry from Folder: the membership's availabilityStatus to Deprecated."""
    root = submission_set_only()
    association(root, UPDATE_AVAILABILITY_STATUS, "SubmissionSet01", membership.entry_uuid,
                NewStatus=new, OriginalStatus=original)
    return root


def folder_contents(folder: models.Folder) -> list[str]:
    """What GetFolderAndContents answers hospital B's radiologist (schema-valid)."""
    return ids_in(ask(stored_query(GET_FOLDER_AND_CONTENTS, {
        "$XDSFolderEntryUUID": f"'{folder.entry_uuid}'",
        "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"})))


def members(folder: models.Folder, *, status: str = models.APPROVED) -> set[str]:
    return set(models.Association.objects.filter(association_type=HAS_MEMBER, source_uuid=folder.entry_uuid,
                                                 status=status).values_list("target_uuid", flat=True))


def last_update_time(folder: models.Folder) -> str:
    folder.refresh_from_db()
    return folder.last_update_time


# A new version keeps its Folders (ITI TF-2b 3.57.4.1.3.3, Update DocumentEntry Metadata).

def test_a_new_version_of_a_filed_document_is_in_the_same_folder() -> None:
    folder, first, _ = filed()
    assert answer(updates.new_version(first)) == (SUCCESS, [])
    second = models.DocumentEntry.objects.get(logical_id=first.logical_id, version=2)
    assert second.entry_uuid in members(folder)
    carried = models.Association.objects.get(source_uuid=folder.entry_uuid, target_uuid=second.entry_uuid)
    assert carried.status == models.APPROVED and f'targetObject="{second.entry_uuid}"' in carried.ebrim
    assert second.entry_uuid in folder_contents(folder) and carried.entry_uuid in folder_contents(folder)


def test_the_old_version_keeps_its_membership_as_history() -> None:
    folder, first, membership = filed()
    answer(updates.new_version(first))
    membership.refresh_from_db()
    assert membership.status == models.APPROVED
    assert first.entry_uuid in members(folder)


def test_carrying_a_membership_over_updates_the_folder_s_last_update_time() -> None:
    folder, first, _ = filed()
    answer(updates.new_version(first))
    assert last_update_time(folder) > LONG_AGO
    assert f">{last_update_time(folder)}<" in models.Folder.objects.get().ebrim


def test_a_new_version_of_an_unfiled_document_joins_no_folder() -> None:
    folder, _, _ = filed()
    other = unfiled()
    answer(updates.new_version(other))
    assert last_update_time(folder) == LONG_AGO
    assert models.Association.objects.filter(source_uuid=folder.entry_uuid).count() == 1


def test_a_document_taken_out_of_a_folder_is_not_carried_into_it_by_its_new_version() -> None:
    folder, first, membership = filed()
    assert answer(removing(membership)) == (SUCCESS, [])
    answer(updates.new_version(first))
    second = models.DocumentEntry.objects.get(logical_id=first.logical_id, version=2)
    assert second.entry_uuid not in members(folder)


# Add existing DocumentEntry to Folder.

def test_the_operator_files_an_existing_document_into_a_folder() -> None:
    folder, first, _ = filed()
    other = unfiled()
    assert answer(adding(folder, other)) == (SUCCESS, [])
    assert members(folder) == {first.entry_uuid, other.entry_uuid}
    assert last_update_time(folder) > LONG_AGO
    assert other.entry_uuid in folder_contents(folder)
    assert AuditEvent.objects.filter(transaction="ITI-57", outcome=0).exists()


def test_a_filing_that_is_not_a_member_of_the_submission_set_is_refused() -> None:
    folder, first, _ = filed()
    other = unfiled()
    assert answer(adding(folder, other, listed=False)) == (FAILURE, [errors.METADATA_UPDATE])
    assert members(folder) == {first.entry_uuid}
    assert last_update_time(folder) == LONG_AGO
    assert AuditEvent.objects.filter(transaction="ITI-57", outcome=8).exists()


def test_a_document_already_in_the_folder_is_not_filed_twice() -> None:
    folder, first, _ = filed()
    assert answer(adding(folder, first)) == (FAILURE, [errors.METADATA_UPDATE_OPERATION])


def test_another_patient_s_document_is_not_filed_into_the_folder() -> None:
    other_patient = "E1002^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"
    services.patient_identity_register(patient_id=other_patient)
    folder, _, _ = filed()
    services.submission_register(submission=read_submission(kos_submission(patient_id=other_patient)),
                                 source="hospital A")
    theirs = models.DocumentEntry.objects.get(patient_id=other_patient)
    assert answer(adding(folder, theirs)) == (FAILURE, [errors.PATIENT_ID_DOES_NOT_MATCH])


# Remove DocumentEntry from Folder.

def test_the_operator_takes_a_document_out_of_a_folder() -> None:
    folder, first, membership = filed()
    assert answer(removing(membership)) == (SUCCESS, [])
    membership.refresh_from_db()
    assert membership.status == models.DEPRECATED and f'status="{models.DEPRECATED}"' in membership.ebrim
    assert members(folder) == set() and members(folder, status=models.DEPRECATED) == {first.entry_uuid}
    assert last_update_time(folder) > LONG_AGO
    first.refresh_from_db()
    assert first.status == models.APPROVED


def test_a_membership_cannot_be_approved_again_by_a_status_change() -> None:
    _, _, membership = filed()
    answer(removing(membership))
    assert answer(removing(membership, new=models.APPROVED, original=models.DEPRECATED)) == (
        FAILURE, [errors.METADATA_UPDATE_OPERATION])


def test_removing_with_an_original_status_the_membership_does_not_have_is_refused() -> None:
    _, _, membership = filed()
    assert answer(removing(membership, original=models.DEPRECATED)) == (
        FAILURE, [errors.METADATA_UPDATE_OPERATION])
    membership.refresh_from_db()
    assert membership.status == models.APPROVED


def test_only_a_folder_s_membership_changes_status() -> None:
    folder, first, _ = filed()
    package = models.Association.objects.get(target_uuid=folder.entry_uuid)  # the submission set's
    assert answer(removing(package)) == (FAILURE, [errors.METADATA_UPDATE_OPERATION])
    assert models.Association.objects.get(entry_uuid=package.entry_uuid).status == models.APPROVED
    assert first.entry_uuid in members(folder)
