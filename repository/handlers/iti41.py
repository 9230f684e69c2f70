"""Protocol handler: ITI-41 Provide and Register Document Set-b (ITI TF-2b 3.41), and RAD-68
Provide and Register Imaging Document Set (RAD TF-3 4.68), which shares its SOAP action.

The documents arrive as MTOM parts (or inline base64), already in the request's temporary files.
Each is measured (size, SHA-1); the metadata gets what the repository adds (ITI TF-2b 3.41.4.1.3:
size and hash when the source left them out, repositoryUniqueId always), then inspectors look at
content they know (a KOS manifest makes the submission a RAD-68) and the service stores and
registers all or nothing. Refusals are a RegistryResponse with status Failure, never a fault.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from audit import services as audit
from audit.events import Peer, import_, this_node
from registry.ebrim.namespaces import LCM
from registry.ebrim.read import NotASubmission, read_submission
from registry.ebrim.response import registry_response
from registry.errors import RegistryError, RegistryErrors
from registry.handlers.submission import refuse_foreign_sources
from registry.metadata import Submission
from repository import errors, services
from repository.handlers.wire import ANONYMOUS, SERIOUS_FAILURE, X, content_of, metadata_complete
from repository.inspection import documents_inspect
from repository.services import Content
from soap import faults
from soap.messages import SoapRequest, SoapResponse

RESPONSE_ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"


def provide_and_register_document_set(request: SoapRequest) -> SoapResponse:
    body = request.body
    if body.tag != X + "ProvideAndRegisterDocumentSetRequest":
        raise faults.sender(f"ITI-41: expected xdsb:ProvideAndRegisterDocumentSetRequest, got "
                            f"{etree.QName(body.tag).localname}.")
    submit = body.find(f"{{{LCM}}}SubmitObjectsRequest")
    if submit is None:
        raise faults.sender("ITI-41: the request has no lcm:SubmitObjectsRequest.")
    source = request.addressing.reply_to or ANONYMOUS
    destination = request.addressing.to or request.endpoint
    transaction = "ITI-41"
    submission: Submission | None = None
    try:
        paths, contents = _documents(request)
        metadata_complete(submit, contents)
        try:
            submission = read_submission(submit)
        except NotASubmission as exc:
            raise faults.sender(f"ITI-41: {exc}.") from None
        refuse_foreign_sources(request, submission, transaction=transaction)
        inspections = documents_inspect(
            [(entry, paths[sent]) for entry in submission.documents
             if (sent := entry.symbolic_id or entry.entry_uuid) in paths])
        transaction = next((i.transaction for i in inspections if i.transaction), transaction)
        warnings = services.document_set_provide(
            submission=submission, contents=contents, inspections=inspections,
            transaction_name=transaction, source=source, source_host=request.remote_addr,
            destination=destination)
    except RegistryErrors as refused:
        package = submission.submission_set if submission else None
        # Nothing was kept: the refusal is recorded on its own (ITI TF-2b 3.41.5.1).
        audit.record_alone(import_(
            transaction=transaction, sender=Peer(user_id=source, host=request.remote_addr),
            receiver=this_node(destination), patient_id=package.patient_id if package else "",
            submission_set_unique_id=package.unique_id if package else "", outcome=SERIOUS_FAILURE,
            outcome_description="; ".join(e.code for e in refused.errors)[:1024]),
            organisation=request.organisation_code)
        return SoapResponse(action=RESPONSE_ACTION, body=registry_response(refused.errors))
    return SoapResponse(action=RESPONSE_ACTION, body=registry_response(warnings))


def _documents(request: SoapRequest) -> tuple[dict[str, Path], dict[str, Content]]:
    """Each xdsb:Document's bytes by its id, measured; two Documents with one id are refused."""
    paths: dict[str, Path] = {}
    contents: dict[str, Content] = {}
    found: list[RegistryError] = []
    for element in request.body.findall(X + "Document"):
        sent_id = element.get("id", "")
        if sent_id in contents:
            found.append(RegistryError(errors.DUPLICATE_UNIQUE_ID_IN_MESSAGE, "two xdsb:Document "
                                       "elements have this id", f"Document {sent_id}"))
            continue
        attachment = request.binary(element)
        paths[sent_id] = attachment.path
        contents[sent_id] = content_of(attachment)
    if found:
        raise RegistryErrors(found)
    return paths, contents
