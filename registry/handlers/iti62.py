"""Protocol handler: ITI-62 Delete Document Set (ITI TF-2b 3.62) on the registry endpoint.

A refusal is an rs:RegistryResponse status Failure naming the ebRS exceptions (ITI TF-2b
3.62.4.1.3); a body that is not a RemoveObjectsRequest is a Sender fault. Only an organisation
granted it may delete (AuthorizationException otherwise); the plain-HTTP port is the operator's.
"""

from __future__ import annotations

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from registry import services
from registry.ebrim.remove import NotARemoval, read_removal
from registry.ebrim.response import registry_response
from registry.errors import RegistryErrors
from registry.handlers.submission import refuse_unless_administrator
from soap import faults
from soap.messages import SoapRequest, SoapResponse

RESPONSE_ACTION = "urn:ihe:iti:2010:DeleteDocumentSetResponse"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
SERIOUS_FAILURE = 8  # PS3.15 A.5.1 EventOutcomeIndicator


def delete_document_set(request: SoapRequest) -> SoapResponse:
    """Read the ids, remove the objects, answer with the RegistryResponse."""
    try:
        entry_uuids = read_removal(request.body)
    except NotARemoval as exc:
        raise faults.sender(f"ITI-62: {exc}.") from None
    # ITI TF-2b 3.62.5.1: the Document Administrator is the source, this endpoint the destination.
    source = request.addressing.reply_to or ANONYMOUS
    destination = request.addressing.to or request.endpoint
    try:
        refuse_unless_administrator(request, transaction="ITI-62")
        services.objects_remove(entry_uuids=entry_uuids, source=source, source_host=request.remote_addr,
                                destination=destination)
    except RegistryErrors as refused:
        audit.record_alone(patient_record(
            transaction="ITI-62", action="D", sender=Peer(user_id=source, host=request.remote_addr),
            receiver=this_node(destination), patient_ids=[], removed=entry_uuids, outcome=SERIOUS_FAILURE,
            outcome_description="; ".join(e.code for e in refused.errors)[:1024]),
            organisation=request.organisation_code)
        return SoapResponse(action=RESPONSE_ACTION, body=registry_response(refused.errors))
    return SoapResponse(action=RESPONSE_ACTION, body=registry_response())
