"""Protocol handler: ITI-43 Retrieve Document Set (ITI TF-2b 3.43) on the repository endpoint.

Each document found is an MTOM part streamed from the store; a uniqueId this repository does
not hold is XDSDocumentUniqueIdError and another repository's id XDSUnknownRepositoryId, each
with the id as location (ITI TF-2b 3.43.4.2.3), so the answer is PartialSuccess or Failure.
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from lxml import etree

from audit import services as audit
from audit.events import DocumentRef, Peer, export, this_node
from registry.errors import RegistryError
from repository import errors, selectors, store
from repository.handlers.wire import (
    ANONYMOUS,
    SERIOUS_FAILURE,
    DocumentAnswer,
    X,
    document_requests,
    home_community_id,
    retrieve_response,
)
from soap import faults
from soap.messages import SoapRequest, SoapResponse
from soap.mtom import OutgoingAttachment, new_content_id

RESPONSE_ACTION = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
logger = logging.getLogger(__name__)


def retrieve_document_set(request: SoapRequest) -> SoapResponse:
    body = request.body
    if body.tag != X + "RetrieveDocumentSetRequest":
        raise faults.sender(f"ITI-43: expected xdsb:RetrieveDocumentSetRequest, got "
                            f"{etree.QName(body.tag).localname}.")
    wanted = document_requests(body)
    if not wanted:
        raise faults.sender("ITI-43: the request names no xdsb:DocumentRequest.")
    found: list[RegistryError] = []
    ours = []
    for item in wanted:
        if item.repository_unique_id != settings.REPOSITORY_UNIQUE_ID:
            found.append(RegistryError(errors.UNKNOWN_REPOSITORY_ID, "not this repository's "
                                       "repositoryUniqueId", item.repository_unique_id))
        else:
            ours.append(item.document_unique_id)
    held = selectors.documents_by_unique_id(ours)
    answers = []
    for unique_id in ours:
        document = held.get(unique_id)
        if document is None:
            found.append(RegistryError(errors.DOCUMENT_UNIQUE_ID_ERROR, "the repository holds no "
                                       "document with this uniqueId", unique_id))
            continue
        if _stored_size(document.key) != document.size:
            # Bytes lost or damaged behind the repository's back: say so for this document rather
            # than cut the MTOM stream off halfway through it.
            logger.error("the stored bytes of a document are missing or of the wrong size")
            found.append(RegistryError(errors.REPOSITORY_ERROR, "the repository cannot read this "
                                       "document's bytes", unique_id))
            continue
        attachment = OutgoingAttachment(
            content_id=new_content_id(), content_type=document.mime_type, size=document.size,
            open=partial(store.store_open, document.key))
        answers.append(DocumentAnswer(document_unique_id=unique_id,
                                      repository_unique_id=settings.REPOSITORY_UNIQUE_ID,
                                      mime_type=document.mime_type, attachment=attachment,
                                      home_community_id=home_community_id()))
    _audit(request, answers, [held[a.document_unique_id].patient_id for a in answers], found)
    return SoapResponse(action=RESPONSE_ACTION, body=retrieve_response(answers, found),
                        attachments=[a.attachment for a in answers])


def _stored_size(key: str) -> int:
    try:
        return store.store_size(key)
    except store.StoreError:
        return -1


def _audit(request: SoapRequest, answers: list[DocumentAnswer], patients: list[str],
           found: list[RegistryError]) -> None:
    # ITI TF-2b 3.43.6.1.1: the repository exports; the consumer (wsa:ReplyTo) is the destination.
    consumer = request.addressing.reply_to or ANONYMOUS
    audit.record_alone(export(
        transaction="ITI-43", sender=this_node(request.addressing.to or request.endpoint),
        receiver=Peer(user_id=consumer, host=request.remote_addr),
        patient_id=patients[0] if len(set(patients)) == 1 else "",
        documents=[DocumentRef(unique_id=a.document_unique_id, repository_unique_id=a.repository_unique_id,
                               home_community_id=a.home_community_id) for a in answers],
        outcome=SERIOUS_FAILURE if found and not answers else (4 if found else 0),
        outcome_description="; ".join(e.code for e in found)[:1024]),
        organisation=request.organisation_code)
