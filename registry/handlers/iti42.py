"""Protocol handler: ITI-42 Register Document Set-b (ITI TF-2b 3.42) on the registry endpoint."""

from __future__ import annotations

from registry import services
from registry.handlers.submission import answer_submission
from soap.messages import SoapRequest, SoapResponse


def register_document_set(request: SoapRequest) -> SoapResponse:
    return answer_submission(request, transaction="ITI-42",
                             response_action="urn:ihe:iti:2007:RegisterDocumentSet-bResponse",
                             service=services.submission_register)
