"""ITI-42 through the real web process: hospital A's repository registers a KOS manifest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from registry import errors, models, services
from registry.ebrim.namespaces import RS
from registry.metadata import RPLC
from tests.conftest import needs_node
from tests.registry import submissions
from tests.registry.submissions import CHIP_MOORE, kos_submission
from tests.servers.node import Node
from tests.soap.messages import SOAP12, WSA

pytestmark = needs_node
ACTION = "urn:ihe:iti:2007:RegisterDocumentSet-b"
RS_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "rs.xsd"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SOAP_XML = f'application/soap+xml; charset=utf-8; action="{ACTION}"'


@pytest.fixture(scope="module")
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(RS_XSD)))


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def client(web: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=60) as http:
        yield http


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


def envelope(body: etree._Element) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
            f'<wsa:Action s:mustUnderstand="true">{ACTION}</wsa:Action>'
            f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
            f"<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address>"
            f"</wsa:ReplyTo><wsa:To>http://localhost/xds/registry</wsa:To></s:Header>"
            f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>").encode()


def post(client: httpx.Client, schema: etree.XMLSchema, body: etree._Element) -> etree._Element:
    """POST the submission; the RegistryResponse, which must be valid against rs.xsd."""
    response = client.post("/xds/registry", content=envelope(body),
                           headers={"Content-Type": SOAP_XML})
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    assert root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") == ACTION + "Response"
    answer = root.find(f"{{{SOAP12}}}Body/{{{RS}}}RegistryResponse")
    assert answer is not None, response.text
    schema.assertValid(answer)
    return answer


def errors_of(answer: etree._Element) -> list[tuple[str, str]]:
    return [(e.get("errorCode", ""), e.get("location", ""))
            for e in answer.iter(f"{{{RS}}}RegistryError")]


def refused(answer: etree._Element, root: etree._Element) -> list[tuple[str, str]]:
    """The errors of a Failure, after checking nothing of the submission was stored and the
    refusal was audited."""
    assert answer.get("status") == FAILURE
    uids = submissions.unique_ids(root)
    assert not models.SubmissionSet.objects.filter(unique_id=uids["submission_set"]).exists()
    assert not models.DocumentEntry.objects.filter(unique_id__in=uids.values()).exists()
    assert AuditEvent.objects.filter(transaction="ITI-42", outcome=8, event_id="110107").exists()
    return errors_of(answer)


def test_hospital_a_registers_a_kos_manifest(client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = kos_submission()
    answer = post(client, rs_schema, root)
    assert answer.get("status") == SUCCESS, errors_of(answer)
    document = models.DocumentEntry.objects.get(unique_id=submissions.unique_ids(root)["document"])
    assert document.format_code == "1.2.840.10008.5.1.4.1.1.88.59"
    event = AuditEvent.objects.get(transaction="ITI-42", outcome=0)
    assert (event.event_id, event.patient_ids) == ("110107", CHIP_MOORE)


@pytest.mark.parametrize("attribute", [*submissions.DOCUMENT_CLASSIFICATIONS, *submissions.DOCUMENT_SLOTS,
                                       *submissions.DOCUMENT_IDENTIFIERS, "mimeType"])
def test_a_document_without_a_required_attribute_is_refused(
        client: httpx.Client, rs_schema: etree.XMLSchema, attribute: str) -> None:
    root = kos_submission()
    submissions.remove(root, attribute)
    found = refused(post(client, rs_schema, root), root)
    assert (errors.METADATA_ERROR, f"DocumentEntry Document01 {attribute}") in found


def test_a_wrong_object_type_is_refused(client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = kos_submission()
    submissions.document(root).set("objectType", "urn:uuid:00000000-0000-0000-0000-000000000000")
    assert refused(post(client, rs_schema, root), root) == [
        (errors.METADATA_ERROR, "DocumentEntry Document01 objectType")]


def test_a_document_referenced_but_not_submitted_is_refused(client: httpx.Client,
                                                            rs_schema: etree.XMLSchema) -> None:
    root = kos_submission()
    submissions.add_association(root, RPLC, "Document01", f"urn:uuid:{uuid.uuid4()}")
    [(code, location)] = refused(post(client, rs_schema, root), root)
    assert code == errors.METADATA_ERROR and location.endswith("targetObject")


def test_a_replacement_of_a_deprecated_entry_is_refused(client: httpx.Client,
                                                        rs_schema: etree.XMLSchema) -> None:
    first = kos_submission()
    assert post(client, rs_schema, first).get("status") == SUCCESS
    original = models.DocumentEntry.objects.get(unique_id=submissions.unique_ids(first)["document"])
    second = kos_submission()
    submissions.add_association(second, RPLC, "Document01", original.entry_uuid)
    assert post(client, rs_schema, second).get("status") == SUCCESS
    original.refresh_from_db()
    assert original.status == models.DEPRECATED
    third = kos_submission()
    submissions.add_association(third, RPLC, "Document01", original.entry_uuid)
    [(code, _location)] = refused(post(client, rs_schema, third), third)
    assert code == errors.DEPRECATED_DOCUMENT


def test_two_objects_with_one_unique_id_are_refused(client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = kos_submission()
    uid = submissions.unique_ids(root)["submission_set"]
    for identifier in submissions.document(root).iter(submissions.R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == submissions.DOCUMENT_UNIQUE_ID:
            identifier.set("value", uid)
    found = refused(post(client, rs_schema, root), root)
    assert [c for c, _ in found] == [errors.DUPLICATE_UNIQUE_ID_IN_MESSAGE] and found[0][1]


def test_an_unknown_patient_id_is_refused(client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = kos_submission(patient_id=f"E9999^^^&{submissions.AFFINITY}&ISO")
    assert refused(post(client, rs_schema, root), root) == [
        (errors.UNKNOWN_PATIENT_ID, "SubmissionSet SubmissionSet01 patientId")]
    assert not models.DocumentEntry.objects.exists()


def test_a_body_that_is_not_a_submission_gets_a_sender_fault(client: httpx.Client) -> None:
    response = client.post("/xds/registry", content=envelope(submissions.not_a_submission()),
                           headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert response.status_code == 400
    code = etree.fromstring(response.content).findtext(
        f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value")
    assert code == "env:Sender"
