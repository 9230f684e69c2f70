"""XDS.b wire shared by the repository's handlers: documents in, DocumentRequests, responses.

ITI TF-2b 3.41.4.1.2 (ProvideAndRegisterDocumentSetRequest), 3.43.4.1.2 and 3.43.4.2.2
(RetrieveDocumentSetRequest/Response), 3.86.4.1.2 (RemoveDocumentsRequest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from lxml import etree

from registry.ebrim.errors import error_list, status_of
from registry.ebrim.namespaces import RIM, RS, XDSB
from registry.ebrim.read import set_slot
from registry.errors import RegistryError
from repository.services import Content
from soap.mtom import CHUNK, Attachment, OutgoingAttachment, xop_include

X = f"{{{XDSB}}}"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
SERIOUS_FAILURE = 8  # PS3.15 A.5.1 EventOutcomeIndicator


@dataclass(frozen=True)
class DocumentRequest:
    repository_unique_id: str
    document_unique_id: str
    home_community_id: str = ""


def content_of(attachment: Attachment) -> Content:
    """The bytes of a part with their size and SHA-1: as the SOAP layer measured them while
    writing the request's file, or read once from that file when it did not."""
    if attachment.sha1:
        return Content(open=attachment.open, size=attachment.size, sha1=attachment.sha1)
    digest = hashlib.sha1(usedforsecurity=False)
    size = 0
    with attachment.open() as source:
        while chunk := source.read(CHUNK * 16):
            digest.update(chunk)
            size += len(chunk)
    return Content(open=attachment.open, size=size, sha1=digest.hexdigest())


def document_requests(body: etree._Element) -> list[DocumentRequest]:
    """The xdsb:DocumentRequest children of a retrieve or remove request, in order."""
    found = []
    for element in body.findall(X + "DocumentRequest"):
        found.append(DocumentRequest(
            repository_unique_id=_text(element, "RepositoryUniqueId"),
            document_unique_id=_text(element, "DocumentUniqueId"),
            home_community_id=_text(element, "HomeCommunityId")))
    return found


def _text(element: etree._Element, name: str) -> str:
    return (element.findtext(X + name) or "").strip()


@dataclass(frozen=True)
class DocumentAnswer:
    """One document of a retrieve response, its bytes streamed from wherever they are."""

    document_unique_id: str
    repository_unique_id: str
    mime_type: str
    attachment: OutgoingAttachment
    home_community_id: str = ""


def retrieve_response(answers: Sequence[DocumentAnswer], errors: Sequence[RegistryError]) -> etree._Element:
    """xdsb:RetrieveDocumentSetResponse: Success, PartialSuccess when some were not found, or
    Failure when none was (ITI TF-2b 3.43.4.2.3)."""
    response = etree.Element(X + "RetrieveDocumentSetResponse", nsmap={"xdsb": XDSB})
    registry_response = etree.SubElement(response, f"{{{RS}}}RegistryResponse", nsmap={"rs": RS})
    registry_response.set("status", status_of(errors, partial=bool(answers)))
    error_list(registry_response, errors)
    for answer in answers:
        element = etree.SubElement(response, X + "DocumentResponse")
        if answer.home_community_id:
            etree.SubElement(element, X + "HomeCommunityId").text = answer.home_community_id
        etree.SubElement(element, X + "RepositoryUniqueId").text = answer.repository_unique_id
        etree.SubElement(element, X + "DocumentUniqueId").text = answer.document_unique_id
        etree.SubElement(element, X + "mimeType").text = answer.mime_type
        xop_include(etree.SubElement(element, X + "Document"), answer.attachment.content_id)
    return response


def home_community_id() -> str:
    return settings.HOME_COMMUNITY_ID


def metadata_complete(submit: etree._Element, contents: dict[str, Content]) -> None:
    """ITI TF-2b 3.41.4.1.3: the repository adds size and hash where the source left them out
    (those given are checked by the service) and always its own repositoryUniqueId. ITI-41 and
    ITI-65 (whose Bundle becomes the same SubmitObjectsRequest) both call it."""
    rim = f"{{{RIM}}}"
    for extrinsic in submit.iterfind(f"{rim}RegistryObjectList/{rim}ExtrinsicObject"):
        content = contents.get(extrinsic.get("id", ""))
        if content is None:
            continue
        given = {slot.get("name") for slot in extrinsic.iterfind(rim + "Slot")}
        if "size" not in given:
            set_slot(extrinsic, "size", str(content.size))
        if "hash" not in given:
            set_slot(extrinsic, "hash", content.sha1)
        set_slot(extrinsic, "repositoryUniqueId", settings.REPOSITORY_UNIQUE_ID)
