"""Protocol handler: ITI-86 Remove Documents (ITI TF-2b 3.86) on the repository endpoint.

The Document Administrator removes documents' bytes (their metadata goes by ITI-62). Only an
organisation granted it may; the plain-HTTP port is the operator's own. Each document not held
is an error of its own, so the answer may be PartialSuccess (ITI TF-2b 3.86.4.2.3).
"""

from __future__ import annotations

from lxml import etree

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from registry.ebrim.errors import error_list, status_of
from registry.ebrim.namespaces import RS
from registry.errors import RegistryErrors
from registry.handlers.submission import refuse_unless_administrator
from repository import services
from repository.handlers.wire import ANONYMOUS, SERIOUS_FAILURE, document_requests
from soap import faults
from soap.messages import SoapRequest, SoapResponse

RMD = "urn:ihe:iti:rmd:2017"
RESPONSE_ACTION = "urn:ihe:iti:2017:RemoveDocumentsResponse"


def remove_documents(request: SoapRequest) -> SoapResponse:
    if request.body.tag != f"{{{RMD}}}RemoveDocumentsRequest":
        raise faults.sender(f"ITI-86: expected rmd:RemoveDocumentsRequest, got "
                            f"{etree.QName(request.body.tag).localname}.")
    wanted = document_requests(request.body)
    if not wanted:
        raise faults.sender("ITI-86: the request names no xdsb:DocumentRequest.")
    source = request.addressing.reply_to or ANONYMOUS
    destination = request.addressing.to or request.endpoint
    try:
        refuse_unless_administrator(request, transaction="ITI-86")
    except RegistryErrors as refused:
        audit.record_alone(patient_record(
            transaction="ITI-86", action="D", sender=Peer(user_id=source, host=request.remote_addr),
            receiver=this_node(destination), patient_ids=[],
            removed=[w.document_unique_id for w in wanted], outcome=SERIOUS_FAILURE,
            outcome_description=refused.errors[0].code), organisation=request.organisation_code)
        return SoapResponse(action=RESPONSE_ACTION, body=_response(refused.errors, removed_any=False))
    found = services.documents_remove(
        requests=[services.RemoveRequest(w.repository_unique_id, w.document_unique_id) for w in wanted],
        source=source, source_host=request.remote_addr, destination=destination)
    return SoapResponse(action=RESPONSE_ACTION,
                        body=_response(found, removed_any=len(found) < len(wanted)))


def _response(found: list, *, removed_any: bool) -> etree._Element:
    response = etree.Element(f"{{{RS}}}RegistryResponse", nsmap={"rs": RS})
    response.set("status", status_of(found, partial=removed_any))
    error_list(response, found)
    return response
