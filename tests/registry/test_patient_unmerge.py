"""Merging and unmerging Jane Doe's IDs: what hospital B's radiologist finds before and after, and
that no document's patientId is ever rewritten (ITI TF-3 4.2.3.1.4)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from registry import errors, models, services
from registry.errors import RegistryErrors
from tests.registry.factories import (
    AFFINITY,
    JANE,
    JANE_OLD,
    a_document,
    ask,
    ids_in,
    status_of,
    stored_query,
)

pytestmark = pytest.mark.django_db
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
APPROVED_ONLY = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"
JANE_OLDEST = f"E098^^^{AFFINITY}"


def find(patient_id: str) -> set[str]:
    response = ask(stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{patient_id}'",
                                                 "$XDSDocumentEntryStatus": APPROVED_ONLY}))
    assert status_of(response) == "Success"
    return set(ids_in(response))


def stored_patient_ids() -> dict[str, tuple[str, str]]:
    return {d.entry_uuid: (d.patient_id, d.ebrim) for d in models.DocumentEntry.objects.all()}


@pytest.fixture
def jane_twice() -> tuple[str, str]:
    """Jane's documents under her ID and under the old one hospital A used to feed."""
    services.patient_identity_register(patient_id=JANE)
    services.patient_identity_register(patient_id=JANE_OLD)
    return a_document(patient=JANE).entry_uuid, a_document(patient=JANE_OLD).entry_uuid


def test_a_query_by_the_surviving_id_finds_both_persons_documents_after_a_merge(
        jane_twice: tuple[str, str]) -> None:
    before = stored_patient_ids()
    services.patient_identity_merge(subsumed=JANE_OLD, surviving=JANE)
    assert find(JANE) == set(jane_twice)
    assert find(JANE_OLD) == set()
    assert stored_patient_ids() == before


def test_after_an_unmerge_each_id_finds_its_own_documents_again(jane_twice: tuple[str, str]) -> None:
    mine, old = jane_twice
    before = stored_patient_ids()
    services.patient_identity_merge(subsumed=JANE_OLD, surviving=JANE)
    assert services.patient_identity_unmerge(subsumed=JANE_OLD) == JANE
    assert find(JANE) == {mine}
    assert find(JANE_OLD) == {old}
    assert stored_patient_ids() == before
    assert models.PatientIdentity.objects.get(patient_id=JANE_OLD).merged_into is None


def test_an_unmerge_is_audited_as_a_patient_record_update_naming_both_ids(
        jane_twice: tuple[str, str]) -> None:
    services.patient_identity_merge(subsumed=JANE_OLD, surviving=JANE)
    services.patient_identity_unmerge(subsumed=JANE_OLD, source="HOSPA|ADT", source_host="10.1.0.8")
    event = AuditEvent.objects.get(event_id="110110")
    assert (event.action_code, event.outcome, event.transaction) == ("U", 0, "ITI-8")
    assert set(event.patient_ids.split("|")) == {JANE, JANE_OLD}
    assert event.user_id == "HOSPA|ADT"


def test_an_unmerged_id_may_be_submitted_under_again(jane_twice: tuple[str, str]) -> None:
    from registry.ebrim.read import read_submission
    from tests.registry.submissions import kos_submission

    services.patient_identity_merge(subsumed=JANE_OLD, surviving=JANE)
    services.patient_identity_unmerge(subsumed=JANE_OLD)
    assert services.submission_register(submission=read_submission(kos_submission(patient_id=JANE_OLD)),
                                        source="hospital A") == []


def test_unmerging_an_id_that_is_not_merged_changes_and_records_nothing(jane_twice: tuple[str, str]) -> None:
    assert services.patient_identity_unmerge(subsumed=JANE_OLD) is None
    assert not AuditEvent.objects.exists()
    assert find(JANE_OLD) == {jane_twice[1]}


def test_unmerging_an_unknown_id_is_refused() -> None:
    with pytest.raises(RegistryErrors) as refused:
        services.patient_identity_unmerge(subsumed=f"E0404^^^{AFFINITY}")
    assert [e.code for e in refused.value.errors] == [errors.UNKNOWN_PATIENT_ID]
    assert not AuditEvent.objects.exists()


def test_a_chain_of_merges_is_followed_and_unmerging_the_middle_link_splits_it(
        jane_twice: tuple[str, str]) -> None:
    mine, old = jane_twice
    oldest = a_document(patient=JANE_OLDEST).entry_uuid
    services.patient_identity_register(patient_id=JANE_OLDEST)
    services.patient_identity_merge(subsumed=JANE_OLDEST, surviving=JANE_OLD)
    services.patient_identity_merge(subsumed=JANE_OLD, surviving=JANE)
    assert find(JANE) == {mine, old, oldest}
    assert find(JANE_OLD) == set() and find(JANE_OLDEST) == set()
    # Undoing the later merge restores the state before it: the oldest ID stays with the old one.
    assert services.patient_identity_unmerge(subsumed=JANE_OLD) == JANE
    assert find(JANE) == {mine}
    assert find(JANE_OLD) == {old, oldest}
    assert services.patient_identity_unmerge(subsumed=JANE_OLDEST) == JANE_OLD
    assert find(JANE_OLD) == {old} and find(JANE_OLDEST) == {oldest}
