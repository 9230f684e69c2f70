"""One data set behind SOAP, HL7 v2 and FHIR, against the node's own web and mllp processes,
with a real FHIR client library (fhirpy) on the FHIR side:

- published over SOAP (ITI-41), found over ITI-67 and retrieved over ITI-68;
- fed over ITI-104, queried over PIX v2 (ITI-9, MLLP);
- published over FHIR (ITI-65), found over ITI-18 and retrieved over ITI-43.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from lxml import etree

from registry import services as registry
from registry.ebrim.namespaces import SUCCESS
from tests.conftest import needs_node
from tests.empi.messages import qbp
from tests.fhir.bundles import mhd_bundle
from tests.fhir.conftest import LiveExchange, fhir_valid, iti104_feed, live_client
from tests.mllp.client import connect, exchange
from tests.registry.factories import ids_in, query_schema, stored_query
from tests.registry.submissions import AFFINITY, CHIP_MOORE, fresh_oid
from tests.repository.provide import (
    X,
    document_requests,
    document_unique_ids,
    errors_of,
    mime_parts,
    post,
    provide_request,
    soap_request,
    text_submission,
)
from tests.soap.messages import envelope

pytestmark = needs_node
HOSPITAL_A = "1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B = "1.3.6.1.4.1.21367.13.20.2000"
REPORT = b"Chest CT: no acute findings.\n"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"


def test_a_document_published_over_soap_is_found_and_retrieved_over_fhir(live: LiveExchange) -> None:
    registry.patient_identity_register(patient_id=CHIP_MOORE)
    submit = text_submission()
    answer = post(live.http, provide_request(submit, {"Document01": REPORT}),
                  etree.XMLSchema(etree.parse(str(_rs_xsd()))))
    assert answer.get("status") == SUCCESS, errors_of(answer)
    unique_id = document_unique_ids(submit)["Document01"]

    found = live.fhir.resources("DocumentReference").search(
        **{"patient.identifier": f"urn:oid:{AFFINITY}|E1001"}).fetch_all()
    [reference] = [r for r in found if r["masterIdentifier"]["value"] == f"urn:oid:{unique_id}"]
    fhir_valid(reference.serialize())
    attachment = reference["content"][0]["attachment"]
    assert attachment["contentType"] == "text/plain" and attachment["size"] == len(REPORT)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(REPORT).digest()).decode()  # noqa: S324

    retrieved = live.http.get(attachment["url"], headers=live.bearer)
    assert retrieved.status_code == 200 and retrieved.content == REPORT
    assert retrieved.headers["content-type"].startswith("text/plain")


def test_a_patient_fed_over_iti104_is_answered_by_pix_v2(live: LiveExchange) -> None:
    iti104_feed(live, HOSPITAL_A, "A-4711", family="Fischer", given="Anna")
    iti104_feed(live, HOSPITAL_B, "B-0815", family="Fischer", given="Anna", client=live_client(live, "hospb"))
    with connect(live.node.mllp_port) as sock:
        reply = exchange(sock, qbp(f"A-4711^^^HOSPA&{HOSPITAL_A}&ISO", domains=f"^^^HOSPB&{HOSPITAL_B}&ISO"))
    text = reply.decode()
    assert "MSA|AA" in text and "B-0815" in text, text


def test_a_document_published_over_fhir_is_found_over_iti18_and_retrieved_over_iti43(
        live: LiveExchange) -> None:
    patient = iti104_feed(live, HOSPITAL_A, "A-1234", family="Moreau", given="Lea")
    enterprise = next(i for i in patient["identifier"] if i["system"] == f"urn:oid:{AFFINITY}")
    patient_cx = f"{enterprise['value']}^^^&{AFFINITY}&ISO"
    unique_id = fresh_oid()

    bundle = mhd_bundle(patient_id=patient["id"], unique_id=unique_id, mrn="A-1234", content=REPORT)
    response = live.fhir.execute("", method="post", data=bundle)
    fhir_valid(response)
    assert response["type"] == "transaction-response"
    assert all(e["response"]["status"].startswith("201") for e in response["entry"])

    query = stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'{patient_cx}'",
        "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"}).decode()
    soap = live.http.post("/xds/registry",
                               content=envelope(query, action="urn:ihe:iti:2007:RegistryStoredQuery"),
                               headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    body = etree.fromstring(soap.content).find("{http://www.w3.org/2003/05/soap-envelope}Body")
    assert body is not None
    answer = body[0]
    query_schema().assertValid(answer)
    assert len(ids_in(answer)) == 1
    assert unique_id.encode() in soap.content

    from django.conf import settings
    retrieve = soap_request(document_requests(X + "RetrieveDocumentSetRequest",
                                              [(settings.REPOSITORY_UNIQUE_ID, unique_id)]), action=RETRIEVE)
    retrieved = live.http.post("/xds/repository", content=retrieve.body,
                                    headers={"Content-Type": retrieve.content_type})
    assert retrieved.status_code == 200
    [_root, *parts] = mime_parts(retrieved)
    assert [content for _, content in parts] == [REPORT]


def _rs_xsd() -> Any:
    from tests.repository.provide import SCHEMAS

    return SCHEMAS / "ebRS30" / "rs.xsd"
