"""RAD-69 through the real web process: the radiologist's workstation at hospital B retrieves a study
that hospital A's PACS holds, with the node as Imaging Document Source."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

from audit.models import AuditEvent
from imaging.models import DicomNode, ManifestInstance, ManifestSeries, ManifestStudy
from soap import mtom
from tests.conftest import needs_node
from tests.imaging.test_retrieve import a_study, data_set_bytes, upload
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer
from tests.servers.process import free_port
from tests.soap.messages import SOAP12, WSA

pytestmark = needs_node
ACTION = "urn:ihe:rad:2009:RetrieveImagingDocumentSet"
XDSI, XDSB = "urn:ihe:rad:xdsi-b:2009", "urn:ihe:iti:xds-b:2007"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
XOP = "http://www.w3.org/2004/08/xop/include"
IHE_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "IHE"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
HOSPITAL_A_PACS_LOCATION = "1.3.6.1.4.1.21367.13.20.1000.9"
JANE = "E100^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"


@dataclass
class Answer:
    status: str
    errors: list[tuple[str, str]]  # (errorCode, location)
    documents: dict[str, bytes]  # DocumentUniqueId -> the instance's bytes
    responses: list[etree._Element]


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The official xds-b schema. rim.xsd imports the same namespace from xcf.xsd (its global
    Document); read alone, IHEXDSB.xsd leaves that import skipped, so both are included."""
    both = (f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{XDSB}" '
            f'elementFormDefault="qualified"><xs:include schemaLocation="{IHE_XSD / "IHEXDSB.xsd"}"/>'
            f'<xs:include schemaLocation="{IHE_XSD / "xcf.xsd"}"/></xs:schema>')
    return etree.XMLSchema(etree.fromstring(both, base_url=str(IHE_XSD / "both.xsd")))


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def hospital_a_pacs(db: None, orthanc: OrthancServer) -> DicomNode:
    from organisations.services import organisation_create

    hospital_a = organisation_create(code="hospa", name="Hospital A")
    return DicomNode.objects.create(organisation=hospital_a, ae_title=orthanc.ae_title, host="127.0.0.1",
                                    port=orthanc.dicom_port, retrieve_location_uid=HOSPITAL_A_PACS_LOCATION)


def index(study: list[Dataset], *, ae_title: str, location: str = HOSPITAL_A_PACS_LOCATION) -> None:
    """The manifest index rows a registered KOS manifest of the study would have made."""
    row = ManifestStudy.objects.create(
        document_entry_uuid=f"urn:uuid:{uuid.uuid4()}", document_unique_id=generate_uid(),
        repository_unique_id="1.3.6.1.4.1.21367.13.20.1000.1", patient_id=JANE,
        study_instance_uid=study[0].StudyInstanceUID, modalities="CT")
    series = ManifestSeries.objects.create(study=row, series_instance_uid=study[0].SeriesInstanceUID,
                                           modality="CT", retrieve_ae_title=ae_title,
                                           retrieve_location_uid=location)
    for ds in study:
        ManifestInstance.objects.create(series=series, sop_class_uid=ds.SOPClassUID,
                                        sop_instance_uid=ds.SOPInstanceUID)


def request_xml(study: list[Dataset], uids: list[str], syntaxes: list[str], *,
                repository: str = HOSPITAL_A_PACS_LOCATION) -> bytes:
    documents = "".join(
        f"<DocumentRequest><xdsb:RepositoryUniqueId>{repository}</xdsb:RepositoryUniqueId>"
        f"<xdsb:DocumentUniqueId>{uid}</xdsb:DocumentUniqueId></DocumentRequest>" for uid in uids)
    listed = "".join(f"<TransferSyntaxUID>{uid}</TransferSyntaxUID>" for uid in syntaxes)
    body = (f'<RetrieveImagingDocumentSetRequest xmlns="{XDSI}" xmlns:xdsb="{XDSB}">'
            f'<StudyRequest studyInstanceUID="{study[0].StudyInstanceUID}">'
            f'<SeriesRequest seriesInstanceUID="{study[0].SeriesInstanceUID}">{documents}</SeriesRequest>'
            f"</StudyRequest><TransferSyntaxUIDList>{listed}</TransferSyntaxUIDList>"
            f"</RetrieveImagingDocumentSetRequest>")
    return (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
            f'<wsa:Action s:mustUnderstand="true">{ACTION}</wsa:Action>'
            f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
            f"<wsa:ReplyTo><wsa:Address>{WSA}/anonymous</wsa:Address></wsa:ReplyTo>"
            f"<wsa:To>http://localhost/xds/imaging</wsa:To></s:Header>"
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


def retrieve(web: Node, schema: etree.XMLSchema, tmp_path: Path, xml: bytes) -> Answer:
    """POST the request; the response read as MTOM and validated against the official schema
    with each xop:Include replaced by its part's base64 (XOP 1.0 3: the reconstructed infoset)."""
    response = httpx.post(f"{web.url}/xds/imaging", content=xml, timeout=120,
                          headers={"Content-Type": f'application/soap+xml; charset=utf-8; action="{ACTION}"'})
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("multipart/related"):
        limits = mtom.Limits(1 << 30, 1 << 25, 1 << 29, 1000)
        message = mtom.read_mtom(io.BytesIO(response.content), response.headers["content-type"],
                                 limits=limits, folder=tmp_path, content_length=len(response.content))
    else:  # nothing to attach: a plain SOAP envelope
        message = mtom.MtomMessage(response.content, response.headers["content-type"])
    root = etree.fromstring(message.root)
    action = root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action")
    assert action == "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    answer = root.find(f"{{{SOAP12}}}Body/{{{XDSB}}}RetrieveDocumentSetResponse")
    assert answer is not None, message.root
    documents = {}
    for document in answer.iterfind(f"{{{XDSB}}}DocumentResponse"):
        include = document.find(f"{{{XDSB}}}Document/{{{XOP}}}Include")
        assert include is not None
        data = message.attachments[include.get("href", "")[4:]].path.read_bytes()
        holder = include.getparent()
        assert holder is not None
        holder.remove(include)
        holder.text = base64.b64encode(data).decode()
        documents[document.findtext(f"{{{XDSB}}}DocumentUniqueId") or ""] = data
    schema.assertValid(answer)
    registry = answer.find(f"{{{RS}}}RegistryResponse")
    assert registry is not None
    errors = [(e.get("errorCode", ""), e.get("location", ""))
              for e in registry.iter(f"{{{RS}}}RegistryError")]
    return Answer(registry.get("status", ""), errors, documents,
                  list(answer.iterfind(f"{{{XDSB}}}DocumentResponse")))


def test_hospital_b_retrieves_a_study_as_the_pacs_holds_it(
        web: Node, schema: etree.XMLSchema, orthanc: OrthancServer, hospital_a_pacs: DicomNode,
        tmp_path: Path) -> None:
    study = a_study(3, implicit=1)
    held = upload(orthanc, study)
    index(study, ae_title=hospital_a_pacs.ae_title)
    uids = [str(ds.SOPInstanceUID) for ds in study]

    answer = retrieve(web, schema, tmp_path,
                      request_xml(study, uids, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]))

    assert answer.status == SUCCESS and answer.errors == []
    assert sorted(answer.documents) == sorted(uids)
    for uid, data in answer.documents.items():
        assert data_set_bytes(data) == data_set_bytes(held[uid])
        assert dcmread(io.BytesIO(data)).file_meta.TransferSyntaxUID == dcmread(
            io.BytesIO(held[uid])).file_meta.TransferSyntaxUID
    for response in answer.responses:
        assert response.findtext(f"{{{XDSB}}}RepositoryUniqueId") == HOSPITAL_A_PACS_LOCATION
        assert response.findtext(f"{{{XDSB}}}mimeType") == "application/dicom"
    exported = AuditEvent.objects.get(transaction="RAD-69")
    assert (exported.event_id, exported.action_code, exported.outcome) == ("110106", "R", 0)
    assert exported.patient_ids == JANE


def test_an_instance_asked_for_in_implicit_vr_only_is_reencoded(
        web: Node, schema: etree.XMLSchema, orthanc: OrthancServer, hospital_a_pacs: DicomNode,
        tmp_path: Path) -> None:
    study = a_study(1, implicit=0)
    held = upload(orthanc, study)
    index(study, ae_title=hospital_a_pacs.ae_title)
    uid = str(study[0].SOPInstanceUID)

    answer = retrieve(web, schema, tmp_path, request_xml(study, [uid], [ImplicitVRLittleEndian]))

    assert answer.status == SUCCESS
    given, original = dcmread(io.BytesIO(answer.documents[uid])), dcmread(io.BytesIO(held[uid]))
    assert given.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert original.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert [(e.tag, e.value) for e in given] == [(e.tag, e.value) for e in original]


def test_an_unknown_instance_fails_alone(
        web: Node, schema: etree.XMLSchema, orthanc: OrthancServer, hospital_a_pacs: DicomNode,
        tmp_path: Path) -> None:
    study = a_study(2, implicit=0)
    upload(orthanc, study)
    index(study, ae_title=hospital_a_pacs.ae_title)
    unknown = generate_uid()
    uids = [str(ds.SOPInstanceUID) for ds in study]

    answer = retrieve(web, schema, tmp_path, request_xml(study, [*uids, unknown], [ExplicitVRLittleEndian]))

    assert answer.status == PARTIAL_SUCCESS
    assert answer.errors == [("XDSDocumentUniqueIdError", unknown)]
    assert sorted(answer.documents) == sorted(uids)
    assert AuditEvent.objects.get(transaction="RAD-69").outcome == 4


def test_an_unknown_repository_is_named(web: Node, schema: etree.XMLSchema, hospital_a_pacs: DicomNode,
                                        tmp_path: Path) -> None:
    study = a_study(1, implicit=0)
    index(study, ae_title=hospital_a_pacs.ae_title)
    uid = str(study[0].SOPInstanceUID)

    answer = retrieve(web, schema, tmp_path,
                      request_xml(study, [uid], [ExplicitVRLittleEndian], repository="1.2.3.999"))

    assert answer.status == FAILURE
    assert answer.errors == [("XDSUnknownRepositoryId", uid)]


def test_an_unreachable_pacs_is_a_repository_error(web: Node, schema: etree.XMLSchema, db: None,
                                                   tmp_path: Path) -> None:
    from organisations.services import organisation_create

    hospital_c = organisation_create(code="hospc", name="Hospital C")
    gone = DicomNode.objects.create(organisation=hospital_c, ae_title="HOSPC_PACS", host="127.0.0.1",
                                    port=free_port(), retrieve_location_uid="1.2.3.4242")
    study = a_study(1, implicit=0)
    index(study, ae_title=gone.ae_title, location=gone.retrieve_location_uid)
    uid = str(study[0].SOPInstanceUID)

    answer = retrieve(web, schema, tmp_path,
                      request_xml(study, [uid], [ExplicitVRLittleEndian], repository="1.2.3.4242"))

    assert answer.status == FAILURE
    assert answer.errors == [("XDSRepositoryError", uid)]
    assert AuditEvent.objects.get(transaction="RAD-69").outcome == 8


def test_a_compressed_only_request_for_an_uncompressed_instance_is_refused(
        web: Node, schema: etree.XMLSchema, orthanc: OrthancServer, hospital_a_pacs: DicomNode,
        tmp_path: Path) -> None:
    study = a_study(1, implicit=0)
    upload(orthanc, study)
    index(study, ae_title=hospital_a_pacs.ae_title)
    uid = str(study[0].SOPInstanceUID)

    answer = retrieve(web, schema, tmp_path, request_xml(study, [uid], [JPEGBaseline8Bit]))

    assert answer.status == FAILURE
    assert answer.errors == [("urn:dicom:wado:0007", uid)]
    assert answer.documents == {}


def test_the_imaging_wsdl_names_rad69(web: Node) -> None:
    response = httpx.get(f"{web.url}/xds/imaging?wsdl")

    assert response.status_code == 200
    assert b"urn:ihe:rad:2009:RetrieveImagingDocumentSet" in response.content


def test_a_pacs_retrieved_from_by_c_move_is_not_yet_asked(
        web: Node, schema: etree.XMLSchema, orthanc: OrthancServer, hospital_a_pacs: DicomNode,
        tmp_path: Path) -> None:
    hospital_a_pacs.retrieve_method = DicomNode.RETRIEVE_C_MOVE
    hospital_a_pacs.save()
    study = a_study(1, implicit=0)
    upload(orthanc, study)
    index(study, ae_title=hospital_a_pacs.ae_title)
    uid = str(study[0].SOPInstanceUID)

    answer = retrieve(web, schema, tmp_path, request_xml(study, [uid], [ExplicitVRLittleEndian]))

    assert answer.status == FAILURE
    assert answer.errors == [("XDSRepositoryError", uid)]
