"""Protocol handler: ITI-42 Register Document Set-b (ITI TF-2b 3.42) on the registry endpoint.

Metadata errors are answered with rs:RegistryResponse status Failure, never a SOAP fault
(ITI TF-2b 3.42.4.2); a body that is not a SubmitObjectsRequest is a Sender fault.
"""

from __future__ import annotations

from audit import services as audit
from audit.events import Peer, import_, this_node
from registry import services
from registry.ebrim.read import NotASubmission, read_submission
from registry.ebrim.response import registry_response
from registry.errors import RegistryErrors
from soap import faults
from soap.messages import SoapRequest, SoapResponse

RESPONSE_ACTION = "urn:ihe:iti:2007:RegisterDocumentSet-bResponse"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
# EventOutcomeIndicator of a refused submission (PS3.15 A.5.1: serious failure).
SERIOUS_FAILURE = 8


def register_document_set(request: SoapRequest) -> SoapResponse:
    """Read the submission, register it, answer with the RegistryResponse."""
    try:
        submission = read_submission(request.body)
    except NotASubmission as exc:
        raise faults.sender(f"ITI-42: {exc}.") from None
    # ITI TF-2b 3.42.5.1.1: the source's UserID is its wsa:ReplyTo, the destination our endpoint.
    source = request.addressing.reply_to or ANONYMOUS
    destination = request.addressing.to or request.endpoint
    try:
        warnings = services.submission_register(submission=submission, source=source,
                                                source_host=request.remote_addr, destination=destination)
    except RegistryErrors as refused:
        package = submission.submission_set
        # The request's transaction rolled back: the refusal is recorded on its own.
        audit.record_alone(import_(
            transaction="ITI-42", sender=Peer(user_id=source, host=request.remote_addr),
            receiver=this_node(destination), patient_id=package.patient_id if package else "",
            submission_set_unique_id=package.unique_id if package else "", outcome=SERIOUS_FAILURE,
            outcome_description="; ".join(e.code for e in refused.errors)[:1024]))
        return SoapResponse(action=RESPONSE_ACTION, body=registry_response(refused.errors))
    return SoapResponse(action=RESPONSE_ACTION, body=registry_response(warnings))

