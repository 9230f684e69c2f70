"""ITI-41 requests as a hospital's Document Source sends them: a submission wrapped in
xdsb:ProvideAndRegisterDocumentSetRequest, its documents as MTOM parts or inline base64; and the
readers of the repository's answers (MTOM parts, errors, the XOP infoset for the schema)."""

from __future__ import annotations

import base64
import copy
import email.parser
import email.policy
import functools
import hashlib
import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from lxml import etree

from registry.ebrim.namespaces import LCM, RS, XDSB
from registry.ebrim.read import set_slot as ebrim_set_slot
from repository import store
from soap.mtom import OutgoingAttachment, xop_include
from soap.namespaces import XOP
from tests.registry import submissions
from tests.registry.submissions import CHIP_MOORE, R, kos_submission
from tests.soap.messages import SOAP12, WSA, mtom

ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema"
X = f"{{{XDSB}}}"
FORMAT_CODE_SCHEME = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
# The slots the repository fills in (ITI TF-2b 3.41.4.1.3); a Document Source may leave them out.
REPOSITORY_SLOTS = ("hash", "size", "repositoryUniqueId")


@dataclass(frozen=True)
class Request:
    """An ITI-41 request ready to POST: its Content-Type and body."""

    content_type: str
    body: bytes


def text_submission(*, documents: int = 1, patient_id: str = CHIP_MOORE,
                    keep: tuple[str, ...] = ()) -> etree._Element:
    """Hospital A's submission of `documents` plain-text reports (Document01, Document02, ...),
    each with a fresh uniqueId. Of the slots the repository fills in, only those in `keep` stay,
    with the recorded submission's values."""
    root = kos_submission(patient_id=patient_id)
    template = submissions.document(root)
    # A report, not a KOS manifest: the imaging inspector looks only at manifests.
    template.set("mimeType", "text/plain")
    for classification in template.findall(R + "Classification"):
        if classification.get("classificationScheme") == FORMAT_CODE_SCHEME:
            classification.set("nodeRepresentation", "urn:ihe:rad:TEXT")
            value = classification.find(f"{R}Slot/{R}ValueList/{R}Value")
            assert value is not None
            value.text = "1.3.6.1.4.1.19376.1.2.3"  # IHE format codes
    for slot in template.findall(R + "Slot"):
        if slot.get("name") in REPOSITORY_SLOTS and slot.get("name") not in keep:
            template.remove(slot)
    objects = template.getparent()
    assert objects is not None
    for number in range(2, documents + 1):
        objects.insert(objects.index(template) + number - 1, _another(template, f"Document{number:02d}"))
        submissions.add_association(root, HAS_MEMBER, "SubmissionSet01", f"Document{number:02d}")
        association = objects[-1]
        slot = etree.SubElement(association, R + "Slot", name="SubmissionSetStatus")
        etree.SubElement(etree.SubElement(slot, R + "ValueList"), R + "Value").text = "Original"
    return root


def _another(template: etree._Element, symbolic_id: str) -> etree._Element:
    document = copy.deepcopy(template)
    document.set("id", symbolic_id)
    for element in document.iter(R + "Classification", R + "ExternalIdentifier"):
        element.set("id", f"{symbolic_id}-{element.get('id')}")
        for reference in ("classifiedObject", "registryObject"):
            if element.get(reference):
                element.set(reference, symbolic_id)
        if element.get("identificationScheme") == submissions.DOCUMENT_UNIQUE_ID:
            element.set("value", submissions.fresh_oid())
    return document


def extrinsic(root: etree._Element, symbolic_id: str = "Document01") -> etree._Element:
    found = root.find(f"{R}RegistryObjectList/{R}ExtrinsicObject[@id='{symbolic_id}']")
    assert found is not None, symbolic_id
    return found


def set_slot(root: etree._Element, symbolic_id: str, name: str, value: str) -> None:
    """Give a DocumentEntry's slot a value, adding the slot if it is not there."""
    ebrim_set_slot(extrinsic(root, symbolic_id), name, value)


def document_unique_ids(root: etree._Element) -> dict[str, str]:
    """Each DocumentEntry's uniqueId by its symbolic id."""
    found = {}
    for document in root.iterfind(f"{R}RegistryObjectList/{R}ExtrinsicObject"):
        for identifier in document.iterfind(R + "ExternalIdentifier"):
            if identifier.get("identificationScheme") == submissions.DOCUMENT_UNIQUE_ID:
                found[document.get("id", "")] = identifier.get("value", "")
    return found


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def provide_body(submit: etree._Element, documents: Mapping[str, bytes], *,
                 as_mtom: bool = True) -> tuple[etree._Element, list[OutgoingAttachment]]:
    """xdsb:ProvideAndRegisterDocumentSetRequest: the lcm:SubmitObjectsRequest, then one
    xdsb:Document per entry of `documents` (id -> bytes), an xop:Include or inline base64."""
    if submit.tag != f"{{{LCM}}}SubmitObjectsRequest":
        raise ValueError("expected an lcm:SubmitObjectsRequest")
    body = etree.Element(X + "ProvideAndRegisterDocumentSetRequest", nsmap={"xdsb": XDSB})
    body.append(copy.deepcopy(submit))
    attachments = []
    for sent_id, data in documents.items():
        element = etree.SubElement(body, X + "Document", id=sent_id)
        if as_mtom:
            attachment = bytes_attachment(data)
            xop_include(element, attachment.content_id)
            attachments.append(attachment)
        else:
            element.text = base64.b64encode(data).decode()
    return body, attachments


def bytes_attachment(data: bytes, content_type: str = "application/octet-stream") -> OutgoingAttachment:
    return OutgoingAttachment(content_id=f"{uuid.uuid4().hex}@hospa", content_type=content_type,
                              size=len(data), open=lambda: io.BytesIO(data))


def envelope(body: etree._Element, *, action: str = ACTION, to: str = "http://localhost/xds/repository",
             reply_to: str = "http://www.w3.org/2005/08/addressing/anonymous") -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
            f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
            f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
            f"<wsa:ReplyTo><wsa:Address>{reply_to}</wsa:Address></wsa:ReplyTo>"
            f"<wsa:To>{to}</wsa:To></s:Header>"
            f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>").encode()


def soap_request(body: etree._Element, attachments: list[OutgoingAttachment] | None = None, *,
                 action: str = ACTION, as_mtom: bool = True) -> Request:
    """The HTTP body of a SOAP request: MTOM multipart/related, or a plain SOAP 1.2 envelope."""
    xml = envelope(body, action=action)
    if as_mtom:
        content_type, data = mtom(xml, attachments or [])
        return Request(content_type, data)
    return Request(f'application/soap+xml; charset=utf-8; action="{action}"', xml)


def provide_request(submit: etree._Element, documents: Mapping[str, bytes], *,
                    as_mtom: bool = True) -> Request:
    """An ITI-41 request carrying `submit` and `documents` (id -> bytes)."""
    body, attachments = provide_body(submit, documents, as_mtom=as_mtom)
    return soap_request(body, attachments, as_mtom=as_mtom)


def post(client: httpx.Client, request: Request, schema: etree.XMLSchema, *,
         action: str = ACTION) -> etree._Element:
    """POST to the repository; the answer's body element, valid against `schema`, after checking
    the response's wsa:Action."""
    response = client.post("/xds/repository", content=request.body,
                           headers={"Content-Type": request.content_type})
    assert response.status_code == 200, response.text
    root = envelope_of(response)
    assert root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") == action + "Response"
    body = root.find(f"{{{SOAP12}}}Body")
    assert body is not None and len(body), response.text
    schema.assertValid(body[0])
    return body[0]


def envelope_of(response: httpx.Response) -> etree._Element:
    """The SOAP envelope of a response, plain or the root part of an MTOM one."""
    if response.headers["content-type"].startswith("multipart/related"):
        return etree.fromstring(mime_parts(response)[0][1])
    return etree.fromstring(response.content)


def mime_parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    """(Content-ID, bytes) of each part of a multipart/related response, the root first."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode() + response.content)
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((str(part.get("Content-ID", "")).strip("<>"), payload))
    return parts


def errors_of(answer: etree._Element) -> list[tuple[str, str]]:
    """(errorCode, location) of each rs:RegistryError."""
    return [(e.get("errorCode", ""), e.get("location", "")) for e in answer.iter(f"{{{RS}}}RegistryError")]


def stored_keys() -> list[str]:
    """Every key of the document store, however recent."""
    return sorted(store.store_keys_older_than(-1))


def document_requests(tag: str, wanted: list[tuple[str, str]]) -> etree._Element:
    """An xdsb:RetrieveDocumentSetRequest or rmd:RemoveDocumentsRequest (`tag`, Clark notation)
    naming each (repositoryUniqueId, documentUniqueId) of `wanted`."""
    body = etree.Element(tag, nsmap={"xdsb": XDSB})
    for repository_unique_id, document_unique_id in wanted:
        request = etree.SubElement(body, X + "DocumentRequest")
        etree.SubElement(request, X + "RepositoryUniqueId").text = repository_unique_id
        etree.SubElement(request, X + "DocumentUniqueId").text = document_unique_id
    return body


@functools.cache
def xdsb_schema() -> etree.XMLSchema:
    """IHEXDSB.xsd with what it imports. rim.xsd imports xcf.xsd for the xds-b namespace, which
    IHEXDSB.xsd already is, so libxml2 skips that import: one schema of the namespace includes both."""
    wrapper = (f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{XDSB}">'
               '<xs:include schemaLocation="IHEXDSB.xsd"/><xs:include schemaLocation="xcf.xsd"/>'
               "</xs:schema>")
    return etree.XMLSchema(etree.fromstring(wrapper, base_url=(SCHEMAS / "IHE" / "xdsb.xsd").as_uri()))


def xop_infoset(element: etree._Element, parts: Mapping[str, bytes]) -> etree._Element:
    """A copy of `element` with each xop:Include replaced by its part in base64 (XOP 1.0, 3.2):
    what the schema describes."""
    infoset = etree.fromstring(etree.tostring(element))
    for include in list(infoset.iter(f"{{{XOP}}}Include")):
        parent = include.getparent()
        assert parent is not None
        parent.remove(include)
        parent.text = base64.b64encode(parts[include.get("href", "").removeprefix("cid:")]).decode()
    return infoset
