"""Protocol handling shared by the transactions that carry a SubmitObjectsRequest (ITI-42, ITI-57).

Metadata errors are answered with rs:RegistryResponse status Failure, never a SOAP fault
(ITI TF-2b 3.42.4.2, 3.57.4.2); a body that is not a SubmitObjectsRequest is a Sender fault.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from lxml import etree

from audit import services as audit
from audit.edges import not_theirs
from audit.events import TRANSACTIONS, Peer, import_, this_node
from organisations.selectors import may_administer_documents
from registry import errors
from registry.ebrim.namespaces import LCM, RIM
from registry.ebrim.read import NotASubmission, read_submission
from registry.ebrim.response import registry_response
from registry.ebrim.schemes import SUBMISSION_SET_IDENTIFIERS, SUBMISSION_SET_NODE
from registry.errors import RegistryError, RegistryErrors
from registry.metadata import Submission
from registry.validation.provenance import foreign_source_patients
from soap import faults
from soap.messages import SoapRequest, SoapResponse

ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
# EventOutcomeIndicator of a refused submission (PS3.15 A.5.1: serious failure).
SERIOUS_FAILURE = 8
R = f"{{{RIM}}}"
LCM_SUBMIT = f"{{{LCM}}}SubmitObjectsRequest"
# What the registry does not count as objects of their own: they belong to one.
_NOT_COUNTED = (R + "Classification", R + "ObjectRef")

Service = Callable[..., list[RegistryError]]


def answer_submission(request: SoapRequest, *, transaction: str, response_action: str,
                      service: Service, administrative: bool = False) -> SoapResponse:
    """Read the submission, hand it to `service`, answer with the RegistryResponse. An
    `administrative` transaction (ITI-57) is refused to an organisation not granted it."""
    # ITI TF-2b 3.42.5.1.1 / 3.57.5.1: the source's UserID is its wsa:ReplyTo, the
    # destination this endpoint.
    source = request.addressing.reply_to or ANONYMOUS
    destination = request.addressing.to or request.endpoint

    def refusal(refused: RegistryErrors, *, patient_id: str, submission_set_unique_id: str) -> SoapResponse:
        # The request's transaction rolled back (or never began): the refusal is recorded on its own.
        audit.record_alone(import_(
            transaction=transaction, sender=Peer(user_id=source, host=request.remote_addr),
            receiver=this_node(destination), patient_id=patient_id,
            submission_set_unique_id=submission_set_unique_id, outcome=SERIOUS_FAILURE,
            outcome_description="; ".join(e.code for e in refused.errors)[:1024]),
            organisation=request.organisation_code)
        return SoapResponse(action=response_action, body=registry_response(refused.errors))

    # Who may, then how much, are answered from the wire before the submission is read: a
    # refusal should not cost what reading 10,000 documents costs.
    try:
        if administrative:
            refuse_unless_administrator(request, transaction=transaction)
        _check_size(request.body)
    except RegistryErrors as refused:
        _, patient_id, unique_id = _submission_set_on_the_wire(request.body)
        return refusal(refused, patient_id=patient_id, submission_set_unique_id=unique_id)
    try:
        submission: Submission = read_submission(request.body)
    except NotASubmission as exc:
        raise faults.sender(f"{transaction}: {exc}.") from None
    try:
        if not administrative:
            # An update (ITI-57) by the Document Administrator restates the source's own IDs.
            refuse_foreign_sources(request, submission, transaction=transaction)
        warnings = service(submission=submission, source=source, source_host=request.remote_addr,
                           destination=destination)
    except RegistryErrors as refused:
        package = submission.submission_set
        return refusal(refused, patient_id=package.patient_id if package else "",
                       submission_set_unique_id=package.unique_id if package else "")
    return SoapResponse(action=response_action, body=registry_response(warnings))


def refuse_unless_administrator(request: SoapRequest, *, transaction: str) -> None:
    """Raise RegistryErrors (ebRS AuthorizationException) unless the request's organisation may
    update and remove documents. ITI-57 and ITI-62 change what other organisations registered, so
    they are the exchange's Document Administrator's; a request on the plain-HTTP port has no
    organisation and is the operator's own (organisations.selectors.may_administer_documents),
    but only from this machine: BIND_ADDRESS may open the plain port to other machines, and
    those carry no certificate to say who they are."""
    code = request.organisation_code
    if not code and not _loopback(request.remote_addr):
        raise errors.error(errors.AUTHORIZATION, "updates and removals without a client certificate "
                           "are taken from this machine only; use the HTTPS port",
                           f"{transaction} {TRANSACTIONS[transaction]}")
    if not may_administer_documents(code):
        raise errors.error(errors.AUTHORIZATION, f"organisation {code!r} may not update or remove "
                           "documents; the exchange's operators grant it on the organisation's page",
                           f"{transaction} {TRANSACTIONS[transaction]}")


def refuse_foreign_sources(request: SoapRequest, submission: Submission, *, transaction: str) -> None:
    """Raise RegistryErrors (ebRS AuthorizationException) when an organisation authenticated by
    its certificate submits under another organisation's patient IDs; the attempt is a Security
    Alert (DCM CID 403 Use of Restricted Function) besides the refused Import."""
    refused = foreign_source_patients(submission=submission, organisation=request.organisation_code)
    if not refused:
        return
    not_theirs(transaction=transaction, organisation=request.organisation_code,
               performer=Peer(user_id=request.addressing.reply_to or ANONYMOUS, host=request.remote_addr),
               detail=refused[0].context)
    raise RegistryErrors(refused)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check_size(body: etree._Element) -> None:
    """REGISTRY_MAX_SUBMISSION_OBJECTS counted on the wire: XDSRegistryOutOfResources (ITI TF-3
    Table 4.2.4.1-2). The services check it again for their other callers (registry.validation)."""
    listing = body.find(R + "RegistryObjectList") if body.tag == LCM_SUBMIT else None
    if listing is None:
        return
    count = sum(1 for e in listing if isinstance(e.tag, str) and e.tag not in _NOT_COUNTED)
    limit = settings.REGISTRY_MAX_SUBMISSION_OBJECTS
    if count > limit:
        where, _, _ = _submission_set_on_the_wire(body)
        raise errors.error(errors.OUT_OF_RESOURCES, f"the submission carries {count} registry objects; "
                           f"this registry takes at most {limit} in one submission: split it", where)


def _submission_set_on_the_wire(body: etree._Element) -> tuple[str, str, str]:
    """The submission set's location, patientId and uniqueId, found without reading the rest."""
    listing = body.find(R + "RegistryObjectList")
    packages = listing.findall(R + "RegistryPackage") if listing is not None else []
    nodes = [*(listing.findall(R + "Classification") if listing is not None else []),
             *(c for p in packages for c in p.findall(R + "Classification"))]
    classified = {c.get("classifiedObject") for c in nodes
                  if c.get("classificationNode") == SUBMISSION_SET_NODE}
    package = next((p for p in packages if p.get("id") in classified), None)
    if package is None:
        return "SubmissionSet", "", ""
    values = {SUBMISSION_SET_IDENTIFIERS.get(i.get("identificationScheme", ""), ""): i.get("value", "")
              for i in package.findall(R + "ExternalIdentifier")}
    return f"SubmissionSet {package.get('id', '')}", values.get("patientId", ""), values.get("uniqueId", "")
