"""Protocol handler: ITI-68 Retrieve Document (MHD 4.2 ITI TF-2 3.68): `Binary/<uniqueId>`
answers the document's bytes, streamed from the repository's store with its own mimeType.

ITI TF-2 3.68.4.1.2: the consumer may ask for a FHIR Binary resource instead; a client that
accepts only FHIR JSON gets one, with the bytes in base64.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings

from audit.events import DocumentRef
from fhir_api import audit
from fhir_api.errors import FhirError, not_found
from fhir_api.request import FHIR_JSON, FhirRequest, FhirResponse
from repository import selectors, store
from repository.models import Document

logger = logging.getLogger(__name__)
_FHIR_JSON = ("application/fhir+json", "application/json+fhir", "application/json")
_FORMATS = ("json", *_FHIR_JSON)
_CHUNK = 64 * 1024


def retrieve_document(request: FhirRequest) -> FhirResponse:
    unique_id = request.resource_id
    document = selectors.documents_by_unique_id([unique_id]).get(unique_id)
    if document is None:
        raise not_found(f"Binary/{unique_id}: the repository holds no document with this uniqueId")
    opened = _open(document)
    audit.exported(request, patient_id=document.patient_id, documents=[
        DocumentRef(unique_id=unique_id, repository_unique_id=settings.REPOSITORY_UNIQUE_ID)])
    if wants_binary_resource(request):
        with opened:
            data = opened.read()
        return FhirResponse(resource={"resourceType": "Binary", "id": unique_id,
                                      "contentType": document.mime_type,
                                      "data": base64.b64encode(data).decode("ascii")})
    return FhirResponse(stream=_chunks(opened), content_type=document.mime_type,
                        content_length=document.size)


def wants_binary_resource(request: FhirRequest) -> bool:
    """`_format=json`, or an Accept that names FHIR JSON and nothing else (no wildcard)."""
    formats = request.values("_format")
    if formats:
        return formats[-1].lower() in _FORMATS
    sent = request.headers.get("accept", "")  # not request.accept, which defaults to FHIR JSON
    wanted = [part.split(";")[0].strip().lower() for part in sent.split(",") if part.strip()]
    return bool(wanted) and all(w in _FHIR_JSON for w in wanted) and FHIR_JSON in wanted


def _open(document: Document) -> BinaryIO:
    """The stored bytes, checked for their size first so that a damaged document is an error
    rather than a stream cut off halfway (as ITI-43 does)."""
    try:
        if store.store_size(document.key) != document.size:
            raise store.StoreError(document.key)
        return store.store_open(document.key)
    except store.StoreError:
        logger.error("the stored bytes of a document are missing or of the wrong size")
        raise FhirError(500, "the repository cannot read this document's bytes", code="exception") from None


def _chunks(opened: BinaryIO) -> Iterator[bytes]:
    with opened:
        while chunk := opened.read(_CHUNK):
            yield chunk
