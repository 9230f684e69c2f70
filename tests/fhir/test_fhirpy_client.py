"""Every interaction of /fhir/metadata, performed by a real FHIR client library (fhirpy) against
the node's web process: the CapabilityStatement, ITI-104 add and remove, ITI-78 search and read,
ITI-83, ITI-65 with a KOS manifest, ITI-67 paged by the client, ITI-66, ITI-68, ImagingStudy
search and read, and ITI-81 AuditEvent search and read."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydicom.uid import generate_uid

from tests.conftest import needs_node
from tests.fhir.bundles import HOSPITAL_A, mhd_bundle
from tests.fhir.conftest import LiveExchange, fhir_valid, iti104_feed
from tests.imaging.kos_factory import kos_build
from tests.registry.submissions import AFFINITY, fresh_oid

pytestmark = needs_node
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
KOS = "1.2.840.10008.5.1.4.1.1.88.59"


@pytest.fixture
def published(live: LiveExchange) -> dict[str, str]:
    """Lea Moreau fed over ITI-104, and three documents of hers over ITI-65: two reports and a
    KOS manifest of one CT study."""
    patient = iti104_feed(live, HOSPITAL_A, "A-2024", family="Moreau", given="Lea")
    study = generate_uid()
    manifest = kos_build(patient_id="A-2024", issuer=HOSPITAL_A, studies=[
        (study, "ACC-2024", [(generate_uid(), "CT", "HOSPA_PACS", "", [(CT_IMAGE, generate_uid())])])])
    reports = [fresh_oid(), fresh_oid()]
    for unique_id in reports:
        bundle = mhd_bundle(patient_id=patient["id"], unique_id=unique_id, mrn="A-2024",
                            content=b"report " + unique_id.encode())
        answer = live.fhir.execute("", method="post", data=bundle)
        fhir_valid(answer)
    answer = live.fhir.execute("", method="post", data=mhd_bundle(
        patient_id=patient["id"], unique_id=fresh_oid(), mrn="A-2024", content=manifest,
        content_type="application/dicom", format_code=("1.2.840.10008.2.6.1", KOS),
        event=("1.2.840.10008.2.16.4", "CT"), study_uid=study))
    fhir_valid(answer)
    enterprise = next(i["value"] for i in patient["identifier"] if i["system"] == f"urn:oid:{AFFINITY}")
    return {"patient": patient["id"], "enterprise": enterprise, "study": study, "report": reports[0]}


def test_the_capability_statement_names_every_resource_fhirpy_uses(live: LiveExchange) -> None:
    statement = live.fhir.execute("metadata", method="get")
    fhir_valid(statement)
    assert statement["fhirVersion"] == "4.0.1"


def test_pdqm_and_pixm_answer_what_iti104_fed(live: LiveExchange, published: dict[str, str]) -> None:
    found = live.fhir.resources("Patient").search(family="Moreau", given="Lea").fetch_all()
    assert [p.id for p in found] == [published["patient"]]
    read = live.fhir.get("Patient", published["patient"])
    assert fhir_valid(plain(read))["name"][0]["family"] == "Moreau"
    answer = live.fhir.execute("Patient/$ihe-pix", method="get", params={
        "sourceIdentifier": f"urn:oid:{HOSPITAL_A}|A-2024", "targetSystem": f"urn:oid:{AFFINITY}"})
    fhir_valid(answer)
    values = [p.get("valueIdentifier", {}).get("value") for p in answer["parameter"]]
    assert published["enterprise"] in values


def test_the_client_pages_through_the_documents_and_lists(live: LiveExchange,
                                                           published: dict[str, str]) -> None:
    references = live.fhir.resources("DocumentReference").search(
        patient=f"Patient/{published['patient']}").limit(1).fetch_all()
    assert len(references) == 3  # three pages of one, followed by `next`
    for reference in references:
        fhir_valid(plain(reference))
    lists = live.fhir.resources("List").search(patient=f"Patient/{published['patient']}",
                                               code="submissionset").fetch_all()
    assert len(lists) == 3


def test_iti68_answers_a_binary_resource_to_a_fhir_client(live: LiveExchange,
                                                          published: dict[str, str]) -> None:
    binary = live.fhir.execute(f"Binary/{published['report']}", method="get", params={"_format": "json"})
    fhir_valid(binary)
    assert base64.b64decode(binary["data"]) == b"report " + published["report"].encode()


def test_the_kos_manifest_is_an_imaging_study(live: LiveExchange, published: dict[str, str]) -> None:
    [study] = live.fhir.resources("ImagingStudy").search(
        patient=f"Patient/{published['patient']}").fetch_all()
    data = fhir_valid(plain(study))
    assert data["identifier"][0] == {"system": "urn:dicom:uid", "value": f"urn:oid:{published['study']}"}
    assert data["numberOfSeries"] == 1 and data["numberOfInstances"] == 1
    assert fhir_valid(plain(live.fhir.get("ImagingStudy", study.id)))["status"] == "available"


def test_the_audit_trail_of_the_patient_is_searchable(live: LiveExchange, published: dict[str, str]) -> None:
    events = live.fhir.resources("AuditEvent").search(
        **{"patient.identifier": f"urn:oid:{AFFINITY}|{published['enterprise']}"}).fetch_all()
    subtypes = {c["code"] for e in events for c in plain(e).get("subtype", [])}
    assert {"ITI-65", "ITI-104"} <= subtypes
    first = live.fhir.get("AuditEvent", events[0].id)
    fhir_valid(plain(first))


def test_a_patient_removed_over_iti104_is_no_longer_found(live: LiveExchange) -> None:
    iti104_feed(live, HOSPITAL_A, "A-9999", family="Gone", given="Soon")
    live.fhir.execute("Patient", method="delete", params={"identifier": f"urn:oid:{HOSPITAL_A}|A-9999"})
    assert live.fhir.resources("Patient").search(identifier=f"urn:oid:{HOSPITAL_A}|A-9999").fetch_all() == []


def plain(value: Any) -> dict[str, Any]:
    """What fhirpy handed back (a resource or an attribute dict) as plain JSON values."""
    data = value.serialize() if hasattr(value, "serialize") else value
    result: dict[str, Any] = json.loads(json.dumps(data))
    return result
