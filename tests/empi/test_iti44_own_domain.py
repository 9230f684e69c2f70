"""ITI-44 over HTTPS is held to the certificate's organisation (ITI TF-2 3.19): hospital B feeds
and merges under its own assigning authority; under hospital A's it gets AE 204, nothing is
stored, and the attempt is a Security Alert. The handler as the SOAP edge calls it for the
`webtls` port, with the organisation the certificate named."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from lxml import etree

from audit.models import AuditEvent
from empi.handlers.v3.iti44 import patient_registry_duplicates_resolved, patient_registry_record_added
from empi.models import PatientRecord
from soap.envelope import Addressing
from soap.messages import SoapRequest
from tests.empi.conftest import Domain
from tests.empi.v3_messages import (
    ADD,
    JANE_AT_A,
    JANE_AT_B,
    MERGE,
    acknowledged,
    details,
    feed,
    merge,
    schema,
)

pytestmark = pytest.mark.django_db
PATIENT_LOCATION = "/controlActProcess/subject/registrationEvent/subject1/patient/id"


def handled(handler: object, action: str, body: etree._Element, organisation: str) -> etree._Element:
    answer = handler(SoapRequest(  # type: ignore[operator]
        endpoint="pix/v3", addressing=Addressing(
            action=action, message_id=f"urn:uuid:{uuid.uuid4()}",
            reply_to="http://hospb.example/pix", to="https://node/pix/v3"),
        body=body, attachments={}, folder=Path("/nonexistent"), remote_addr="10.2.0.10", mtom=False,
        organisation_code=organisation)).body
    schema("MCCI_IN000002UV01").assertValid(answer)
    return answer


def test_hospital_b_feeds_under_its_own_authority_and_not_hospital_as(domain: Domain) -> None:
    theirs = handled(patient_registry_record_added, ADD, feed(JANE_AT_A), "hospb")
    own = handled(patient_registry_record_added, ADD, feed(JANE_AT_B), "hospb")
    relayed = handled(patient_registry_record_added, ADD, feed(JANE_AT_A), "")

    assert (acknowledged(theirs), acknowledged(own), acknowledged(relayed)) == ("AE", "AA", "AA")
    assert details(theirs)[0][0] == "204"
    assert sorted(PatientRecord.objects.values_list("identifier", flat=True)) == ["A123", "B777"]
    alert = AuditEvent.objects.get(event_id="110113", organisation="hospb")
    assert "ITI-44 from organisation hospb" in str(alert.record)


def test_hospital_b_may_not_merge_hospital_as_patients(domain: Domain) -> None:
    handled(patient_registry_record_added, ADD, feed(JANE_AT_A), "")
    handled(patient_registry_record_added, ADD, feed({**JANE_AT_A, "mrn": "A124"}), "")
    a = JANE_AT_A["oid"]

    answer = handled(patient_registry_duplicates_resolved, MERGE,
                     merge(surviving=(a, "A123"), subsumed=(a, "A124")), "hospb")

    assert (acknowledged(answer), details(answer)[0]) == ("AE", ("204", PATIENT_LOCATION))
    # Both records stand; no merge was recorded (a merge is an ITI-44 update, action U, outcome 0).
    assert PatientRecord.objects.filter(identifier__in=["A123", "A124"]).count() == 2
    assert not AuditEvent.objects.filter(transaction="ITI-44", action_code="U", outcome=0).exists()
    assert AuditEvent.objects.filter(event_id="110113", organisation="hospb").count() == 1
