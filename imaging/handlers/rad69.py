"""RAD-69 Retrieve Imaging Document Set: the Imaging Document Source's SOAP handler (RAD TF-3 4.69).

The request names instances by study, series and SOP Instance UID; the manifest index says
which PACS holds them. They are fetched from it over DICOM, re-encoded when the consumer asked
for another transfer syntax, and answered as an ITI-43 RetrieveDocumentSetResponse with one
MTOM part per instance (RAD TF-3 4.69.4.2.2). A document that cannot be given is a
RegistryError whose location is its DocumentUniqueId, never a SOAP fault (4.69.4.2.3).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from lxml import etree

from audit import services as audit
from audit.events import DocumentRef, Peer, export, this_node
from imaging.dicom import retrieve, transcode
from imaging.kos.selectors import InstanceLocation, instances_resolve
from imaging.models import DicomNode
from imaging.selectors import dicom_nodes_active, patients_of_studies
from registry.ebrim.errors import error_list
from registry.ebrim.namespaces import FAILURE, PARTIAL_SUCCESS, RS, SUCCESS, XDSB
from registry.errors import RegistryError
from soap import faults
from soap.messages import SoapRequest, SoapResponse
from soap.mtom import OutgoingAttachment, new_content_id, xop_include

logger = logging.getLogger(__name__)

RESPONSE_ACTION = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
XDSI = "urn:ihe:rad:xdsi-b:2009"
DICOM_MIME = "application/dicom"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
# How long the PACS may take to answer each DIMSE message of a retrieve.
FETCH_TIMEOUT = 60.0

# ITI TF-3 Table 4.2.4.1-2, as ITI-43 uses them (RAD TF-3 4.69.4.2.3).
DOCUMENT_UNIQUE_ID_ERROR = "XDSDocumentUniqueIdError"  # no such instance, or the PACS lacks it
UNKNOWN_REPOSITORY_ID = "XDSUnknownRepositoryId"
REPOSITORY_ERROR = "XDSRepositoryError"  # the PACS could not be asked; no finer code fits
# PS3.18 (WADO-WS, which RAD-69 is): the instance cannot be given in any requested syntax.
NOT_IN_REQUESTED_SYNTAX = "urn:dicom:wado:0007"
# PS3.15 A.5.1 EventOutcomeIndicator.
_SUCCESS, _MINOR_FAILURE, _SERIOUS_FAILURE = 0, 4, 8


@dataclass(frozen=True)
class DocumentRequest:
    study_instance_uid: str
    series_instance_uid: str
    repository_unique_id: str
    document_unique_id: str  # the SOP Instance UID
    home_community_id: str = ""


@dataclass(frozen=True)
class Retrieved:
    request: DocumentRequest
    attachment: OutgoingAttachment


def retrieve_imaging_document_set(request: SoapRequest) -> SoapResponse:
    """Fetch each requested instance from the PACS holding it; answer what came, and why the rest did not."""
    documents, syntaxes = read_request(request.body)
    problems: list[RegistryError] = []
    plan = _plan(documents, problems)
    retrieved: list[Retrieved] = []
    for node, wanted in plan.items():
        retrieved.extend(_fetch(request, node=node, wanted=wanted, syntaxes=syntaxes, problems=problems))
    order = {d.document_unique_id: n for n, d in enumerate(documents)}
    retrieved.sort(key=lambda r: order[r.request.document_unique_id])
    problems.sort(key=lambda p: order.get(p.location, len(order)))
    logger.info("RAD-69: %d of %d instances answered", len(retrieved), len(documents))
    _audit(request, documents=documents, retrieved=retrieved, problems=problems)
    return SoapResponse(action=RESPONSE_ACTION, body=response_body(retrieved, problems),
                        attachments=[r.attachment for r in retrieved])


def read_request(body: etree._Element) -> tuple[list[DocumentRequest], list[str]]:
    """The DocumentRequests with their study and series, and the TransferSyntaxUIDs in order."""
    if body.tag != f"{{{XDSI}}}RetrieveImagingDocumentSetRequest":
        raise faults.sender("RAD-69: the body is not a RetrieveImagingDocumentSetRequest.")
    documents = []
    for study in body.iterfind(f"{{{XDSI}}}StudyRequest"):
        for series in study.iterfind(f"{{{XDSI}}}SeriesRequest"):
            for document in series.iterfind(f"{{{XDSI}}}DocumentRequest"):
                documents.append(DocumentRequest(
                    study_instance_uid=(study.get("studyInstanceUID") or "").strip(),
                    series_instance_uid=(series.get("seriesInstanceUID") or "").strip(),
                    repository_unique_id=_text(document, "RepositoryUniqueId"),
                    document_unique_id=_text(document, "DocumentUniqueId"),
                    home_community_id=_text(document, "HomeCommunityId")))
    if not documents:
        raise faults.sender("RAD-69: the request names no DocumentRequest.")
    syntaxes = [(uid.text or "").strip()
                for uid in body.iterfind(f"{{{XDSI}}}TransferSyntaxUIDList/{{{XDSI}}}TransferSyntaxUID")]
    return documents, [s for s in syntaxes if s]


def _text(parent: etree._Element, name: str) -> str:
    return (parent.findtext(f"{{{XDSB}}}{name}") or "").strip()


def _plan(documents: Sequence[DocumentRequest],
          problems: list[RegistryError]) -> dict[DicomNode, list[tuple[DocumentRequest, InstanceLocation]]]:
    """Which PACS each requested instance is fetched from; what cannot be located goes to `problems`."""
    by_study: dict[str, list[DocumentRequest]] = defaultdict(list)
    for document in documents:
        by_study[document.study_instance_uid].append(document)
    located: dict[tuple[str, str, str], InstanceLocation] = {}
    for study_uid, asked in by_study.items():
        for found in instances_resolve(study_uid=study_uid,
                                       series_uids=sorted({d.series_instance_uid for d in asked}),
                                       instance_uids=sorted({d.document_unique_id for d in asked})):
            located[(study_uid, found.series_instance_uid, found.sop_instance_uid)] = found
    nodes = dicom_nodes_active()
    by_ae = {n.ae_title: n for n in nodes}
    by_location = {n.retrieve_location_uid: n for n in nodes if n.retrieve_location_uid}
    plan: dict[DicomNode, list[tuple[DocumentRequest, InstanceLocation]]] = defaultdict(list)
    for document in documents:
        uid, repository = document.document_unique_id, document.repository_unique_id
        where = located.get((document.study_instance_uid, document.series_instance_uid, uid))
        if repository not in by_location and (where is None or where.retrieve_location_uid != repository):
            problems.append(RegistryError(UNKNOWN_REPOSITORY_ID,
                                          f"No imaging document source {repository!r} is known.", uid))
        elif where is None:
            problems.append(RegistryError(DOCUMENT_UNIQUE_ID_ERROR,
                                          "No such instance in that study and series.", uid))
        elif where.retrieve_location_uid not in ("", repository):
            problems.append(RegistryError(UNKNOWN_REPOSITORY_ID,
                                          "The instance is not held by that imaging document source.",
                                          uid))
        elif (node := by_ae.get(where.retrieve_ae_title) or by_location.get(repository)) is None:
            problems.append(RegistryError(REPOSITORY_ERROR,
                                          "No DICOM node is configured for the instance's retrieve AE "
                                          "title.", uid))
        else:
            plan[node].append((document, where))
    return plan


def _fetch(request: SoapRequest, *, node: DicomNode,
           wanted: list[tuple[DocumentRequest, InstanceLocation]], syntaxes: list[str],
           problems: list[RegistryError]) -> list[Retrieved]:
    """One DICOM retrieve per series from one PACS; each instance then in a requested syntax."""
    peer = retrieve.Peer(ae_title=node.ae_title, host=node.host, port=node.port, method=node.retrieve_method)
    by_series: dict[tuple[str, str], list[tuple[DocumentRequest, InstanceLocation]]] = defaultdict(list)
    for pair in wanted:
        by_series[(pair[1].study_instance_uid, pair[1].series_instance_uid)].append(pair)
    answered = []
    for (study_uid, series_uid), pairs in by_series.items():
        uids = [where.sop_instance_uid for _, where in pairs]
        whole = len(instances_resolve(study_uid=study_uid, series_uids=[series_uid])) == len(set(uids))
        try:
            result = retrieve.instances_fetch(
                peer=peer, calling_ae=settings.DICOM_AE_TITLE, study_uid=study_uid, series_uid=series_uid,
                sop_instance_uids=uids, sop_class_uids=sorted({w.sop_class_uid for _, w in pairs}),
                whole_series=whole, folder=request.folder / "dicom", timeout=FETCH_TIMEOUT)
        except retrieve.RetrieveError as exc:
            logger.warning("RAD-69: retrieving from %s failed: %s", node.ae_title, exc)
            # The consumer learns that, not the PACS's address; the log has the details.
            problems.extend(RegistryError(REPOSITORY_ERROR, "The PACS holding the instance could not be "
                                          "asked.", d.document_unique_id) for d, _ in pairs)
            continue
        for document, where in pairs:
            path = result.files.get(where.sop_instance_uid)
            if path is None:
                why = result.failed.get(where.sop_instance_uid, "not received")
                problems.append(RegistryError(DOCUMENT_UNIQUE_ID_ERROR, f"The PACS did not give it: {why}.",
                                              document.document_unique_id))
                continue
            stored = transcode.stored_transfer_syntax(path)
            chosen = transcode.transfer_syntax_choose(stored=stored, requested=syntaxes)
            try:
                if chosen is None:
                    raise transcode.TranscodeRefused(stored)
                transcode.instance_transcode(path=path, to_syntax=chosen)
            except transcode.TranscodeRefused:
                problems.append(RegistryError(
                    NOT_IN_REQUESTED_SYNTAX,
                    f"Held in transfer syntax {stored}, which cannot be given in any requested one.",
                    document.document_unique_id))
                continue
            attachment = OutgoingAttachment.from_path(
                content_id=new_content_id(), content_type=DICOM_MIME, path=path)
            answered.append(Retrieved(document, attachment))
    return answered


def response_body(retrieved: Sequence[Retrieved], problems: Sequence[RegistryError]) -> etree._Element:
    """ITI TF-2b 3.43.4.2.2 as RAD TF-3 4.69.4.2.2 inherits it: RegistryResponse, then one
    DocumentResponse per instance, its Document an xop:Include of the instance's part."""
    root = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetResponse", nsmap={"xdsb": XDSB, "rs": RS})
    registry_response = etree.SubElement(root, f"{{{RS}}}RegistryResponse")
    failed = any(p.is_error for p in problems)
    # ITI TF-2b 3.43.4.2.3: PartialSuccess when some documents came and some did not.
    status = SUCCESS if not failed else PARTIAL_SUCCESS if retrieved else FAILURE
    registry_response.set("status", status)
    error_list(registry_response, problems)
    for item in retrieved:
        response = etree.SubElement(root, f"{{{XDSB}}}DocumentResponse")
        if item.request.home_community_id:
            etree.SubElement(response, f"{{{XDSB}}}HomeCommunityId").text = item.request.home_community_id
        etree.SubElement(response, f"{{{XDSB}}}RepositoryUniqueId").text = item.request.repository_unique_id
        etree.SubElement(response, f"{{{XDSB}}}DocumentUniqueId").text = item.request.document_unique_id
        etree.SubElement(response, f"{{{XDSB}}}mimeType").text = DICOM_MIME
        xop_include(etree.SubElement(response, f"{{{XDSB}}}Document"), item.attachment.content_id)
    return root


def _audit(request: SoapRequest, *, documents: Sequence[DocumentRequest], retrieved: Sequence[Retrieved],
           problems: Sequence[RegistryError]) -> None:
    # RAD TF-3 4.69.4.1.4 / ITI TF-2b 3.43.6.1.1: the source records an Export per patient of what
    # it sent; Source is this endpoint, Destination the consumer's wsa:ReplyTo. Nothing else
    # changed, so the record commits on its own.
    sent = [r.request for r in retrieved]
    studies = {d.study_instance_uid for d in documents}
    patients = patients_of_studies(studies)
    outcome = _SUCCESS if not problems else _MINOR_FAILURE if sent else _SERIOUS_FAILURE
    description = "; ".join(f"{p.code}: {p.location}" for p in problems)[:1000]
    groups: dict[str, list[DocumentRequest]] = defaultdict(list)
    for document in sent or documents:
        groups[patients.get(document.study_instance_uid, "")].append(document)
    for patient_id, group in groups.items():
        audit.record_alone(export(
            transaction="RAD-69", patient_id=patient_id,
            sender=this_node(request.addressing.to or f"/{request.endpoint}"),
            receiver=Peer(user_id=request.addressing.reply_to or ANONYMOUS, host=request.remote_addr),
            documents=[DocumentRef(unique_id=d.document_unique_id,
                                   repository_unique_id=d.repository_unique_id,
                                   home_community_id=d.home_community_id,
                                   study_instance_uid=d.study_instance_uid,
                                   series_instance_uid=d.series_instance_uid) for d in group],
            outcome=outcome, outcome_description=description))

