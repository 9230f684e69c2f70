"""Protocol handling shared by the transactions that carry a SubmitObjectsRequest (ITI-42, ITI-57).

Metadata errors are answered with rs:RegistryResponse status Failure, never a SOAP fault
(ITI TF-2b 3.42.4.2, 3.57.4.2); a body that is not a SubmitObjectsRequest is a Sender fault.
"""

from __future__ import annotations

from collections.abc import Callable

from audit import services as audit
from audit.events import Peer, import_, this_node
from registry.ebrim.read import NotASubmission, read_submission
from registry.ebrim.response import registry_response
from registry.errors import RegistryError, RegistryErrors
from registry.metadata import Submission
from soap import faults
from soap.messages import SoapRequest, SoapResponse

ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
# EventOutcomeIndicator of a refused submission (PS3.15 A.5.1: serious failure).
SERIOUS_FAILURE = 8

Service = Callable[..., list[RegistryError]]


def answer_submission(request: SoapRequest, *, transaction: str, response_action: str,
                      service: Service) -> SoapResponse:
    """Read the submission, hand it to `service`, answer with the RegistryResponse."""
    try:
        submission: Submission = read_submission(request.body)
    except NotASubmission as exc:
        raise faults.sender(f"{transaction}: {exc}.") from None
    # ITI TF-2b 3.42.5.1.1 / 3.57.5.1: the source's UserID is its wsa:ReplyTo, the
    # destination this endpoint.
    source = request.addressing.reply_to or ANONYMOUS
    destination = request.addressing.to or request.endpoint
    try:
        warnings = service(submission=submission, source=source, source_host=request.remote_addr,
                           destination=destination)
    except RegistryErrors as refused:
        package = submission.submission_set
        # The request's transaction rolled back: the refusal is recorded on its own.
        audit.record_alone(import_(
            transaction=transaction, sender=Peer(user_id=source, host=request.remote_addr),
            receiver=this_node(destination), patient_id=package.patient_id if package else "",
            submission_set_unique_id=package.unique_id if package else "", outcome=SERIOUS_FAILURE,
            outcome_description="; ".join(e.code for e in refused.errors)[:1024]))
        return SoapResponse(action=response_action, body=registry_response(refused.errors))
    return SoapResponse(action=response_action, body=registry_response(warnings))
