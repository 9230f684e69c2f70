"""Protocol handler: ITI-57 Update Document Set (ITI TF-2b 3.57) on the registry endpoint."""

from __future__ import annotations

from registry import services
from registry.handlers.submission import answer_submission
from soap.messages import SoapRequest, SoapResponse


def update_document_set(request: SoapRequest) -> SoapResponse:
    return answer_submission(request, transaction="ITI-57",
                             response_action="urn:ihe:iti:2010:UpdateDocumentSetResponse",
                             service=services.submission_update, administrative=True)
