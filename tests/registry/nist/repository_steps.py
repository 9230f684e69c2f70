"""The NIST test plans' repository steps, against the node's repository over SOAP 1.2 with MTOM.

  ProvideAndRegisterTransaction  ITI-41: the metadata as a RegisterTransaction prepares it, and
                                 each `Document id=...` element's file of the section as an MTOM
                                 part; the RegistryResponse is validated against rs.xsd
  RetrieveTransaction            ITI-43: the query file with its symbols filled in; the response
                                 (its XOP infoset) is validated against IHEXDSB.xsd. Each
                                 ReferenceDocument's bytes must come back as they are, with the
                                 mimeType, hash and size of the ReferenceMetadata step's answer
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lxml import etree

from registry.ebrim.namespaces import RIM, RS
from tests.registry.nist.driver import TESTKIT, PlanError, Response, Run, schema
from tests.repository.provide import X, envelope, mime_parts, provide_body, xdsb_schema, xop_infoset
from tests.soap.messages import SOAP12, WSA, mtom

PROVIDE = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"
R = f"{{{RIM}}}"
DOCUMENT_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"


def provide(run: Run, section: str, step: str, transaction: etree._Element, patient: str) -> Response:
    submit = run.submission(section, step, transaction, patient)
    # AssignUuids gave the DocumentEntries urn:uuid ids: the documents follow them.
    renamed = run.uuids.get((section, step), {})
    folder = TESTKIT / run.test_id / section
    documents = {renamed.get(d.get("id", ""), d.get("id", "")): (folder / (d.text or "").strip()).read_bytes()
                 for d in transaction.findall("Document")}
    body, attachments = provide_body(submit, documents)
    content_type, data = mtom(envelope(body, action=PROVIDE), attachments)
    answer, _ = _post(run, PROVIDE, content_type, data, RS + "}RegistryResponse")
    schema("rs.xsd").assertValid(answer)
    return Response(root=answer, status=answer.get("status", ""), errors=_errors(answer))


def retrieve(run: Run, section: str, step: str, transaction: etree._Element, patient: str) -> Response:
    where = f"{run.test_id}/{section}/{step}"
    file = TESTKIT / run.test_id / section / (transaction.findtext("MetadataFile") or "").strip()
    request = etree.fromstring(run.substitute(file.read_text(), section, transaction, patient).encode())
    xdsb_schema().assertValid(request)
    content_type, data = mtom(envelope(request, action=RETRIEVE), [])
    answer, parts = _post(run, RETRIEVE, content_type, data, X[1:] + "RetrieveDocumentSetResponse")
    xdsb_schema().assertValid(xop_infoset(answer, parts))
    registry_response = answer.find(f"{{{RS}}}RegistryResponse")
    assert registry_response is not None
    returned = _documents(answer, parts)
    for reference in transaction.findall("ReferenceDocument"):
        unique_id = run.substitute(reference.get("uid", ""), section, transaction, patient)
        if unique_id not in returned:
            raise PlanError(f"{where}: document {unique_id} not returned; got {sorted(returned)}, "
                            f"{registry_response.get('status')} {_errors(registry_response)}")
        mime_type, content = returned[unique_id]
        expected = _reference_file(run.test_id, section, (reference.text or "").strip()).read_bytes()
        if content != expected:
            raise PlanError(f"{where}: document {unique_id}: {len(content)} bytes returned are not "
                            f"the {len(expected)} bytes of {reference.text}")
        if (metadata := transaction.find("ReferenceMetadata")) is not None:
            source = (metadata.get("testdir") or section).removeprefix("../")
            _check_metadata(where, run.answers.get((source, metadata.get("step", ""))), unique_id,
                            mime_type, content)
    return Response(root=answer, status=registry_response.get("status", ""),
                    errors=_errors(registry_response))


def _post(run: Run, action: str, content_type: str, data: bytes,
          answer_tag: str) -> tuple[etree._Element, dict[str, bytes]]:
    response = run.client.post("/xds/repository", content=data, headers={"Content-Type": content_type})
    if response.status_code != 200:
        raise PlanError(f"HTTP {response.status_code}: {response.text[:2000]}")
    [(_, root), *attachments] = mime_parts(response)
    answer_envelope = etree.fromstring(root)
    if answer_envelope.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") != action + "Response":
        raise PlanError(f"wrong wsa:Action in {root[:500]!r}")
    answer = answer_envelope.find(f"{{{SOAP12}}}Body/{{{answer_tag}")
    if answer is None:
        raise PlanError(f"no {answer_tag} in {root[:2000]!r}")
    return answer, dict(attachments)


def _errors(answer: etree._Element) -> list[tuple[str, str]]:
    return [(e.get("errorCode", ""), e.get("codeContext", "")) for e in answer.iter(f"{{{RS}}}RegistryError")]


def _documents(answer: etree._Element, parts: dict[str, bytes]) -> dict[str, tuple[str, bytes]]:
    """(mimeType, bytes) of each DocumentResponse, by DocumentUniqueId."""
    found = {}
    for element in answer.iterfind(X + "DocumentResponse"):
        include = element.find(X + "Document/{http://www.w3.org/2004/08/xop/include}Include")
        if include is None:
            raise PlanError("a DocumentResponse without an xop:Include")
        found[element.findtext(X + "DocumentUniqueId") or ""] = (
            element.findtext(X + "mimeType") or "", parts[include.get("href", "").removeprefix("cid:")])
    return found


def _reference_file(test_id: str, section: str, name: str) -> Path:
    """A ReferenceDocument names its file from the section's folder or from the test's."""
    for base in (TESTKIT / test_id / section, TESTKIT / test_id):
        if (base / name).is_file():
            return base / name
    raise PlanError(f"{test_id}/{section}: no reference document {name}")


def _check_metadata(where: str, query: etree._Element | None, unique_id: str, mime_type: str,
                    content: bytes) -> None:
    """The returned document agrees with the DocumentEntry the registry answered for it."""
    if query is None:
        raise PlanError(f"{where}: no ReferenceMetadata answer to compare with")
    for entry in query.iter(R + "ExtrinsicObject"):
        ids = {i.get("value") for i in entry.iter(R + "ExternalIdentifier")
               if i.get("identificationScheme") == DOCUMENT_UNIQUE_ID}
        if unique_id not in ids:
            continue
        slots = {s.get("name"): s.findtext(f"{R}ValueList/{R}Value") for s in entry.iter(R + "Slot")}
        wanted = (entry.get("mimeType"), slots.get("hash"), slots.get("size"))
        got = (mime_type, hashlib.sha1(content, usedforsecurity=False).hexdigest(), str(len(content)))
        if wanted != got:
            raise PlanError(f"{where}: document {unique_id}: (mimeType, hash, size) {got} returned, "
                            f"{wanted} registered")
        return
    raise PlanError(f"{where}: the ReferenceMetadata answer has no DocumentEntry {unique_id}")


__all__ = ["provide", "retrieve"]
