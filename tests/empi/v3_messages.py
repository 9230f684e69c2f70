"""HL7 v3 messages of the story, built on IPF's PIXv3 and PDQv3 examples: hospitals A and B
register the same woman, then ask about her, over SOAP as a hospital's client sends them."""

from __future__ import annotations

import copy
import uuid
from functools import cache
from pathlib import Path

import httpx
from lxml import etree

from tests.soap.messages import SOAP12, WSA

SHARED = Path(__file__).resolve().parents[3] / "shared" / "ihe"
EXAMPLES = SHARED / "examples" / "pix-pdq"
SCHEMAS = SHARED / "schema" / "hl7v3" / "multicacheschemas"
PIX_FEED = EXAMPLES / "pixfeed" / "v3"
PIX_QUERY = EXAMPLES / "pixquery" / "v3"
# IPF's conformance examples: a maximal registration, its revision and a merge.
FEED_REGISTER = PIX_FEED / "PIX_FEED_REG_Maximal_Request.xml"
FEED_REVISE = PIX_FEED / "PIX_FEED_REV_Maximal_Request.xml"
FEED_MERGE = PIX_FEED / "PIX_FEED_MERGE_Maximal_Request.xml"
# NIST's PIXv3 query tests: a known patient (10501), an unknown one (10502), an unknown
# assigning authority (10503); 10501's dataSource names a domain the demo does not have.
QUERY_KNOWN = PIX_QUERY / "NistPixpdq_Mesa10501-04_Example_01.xml"
QUERY_UNKNOWN_ID = PIX_QUERY / "NistPixpdq_Mesa10502-03~UnknownId_Example_01.xml"
QUERY_UNKNOWN_AUTHORITY = PIX_QUERY / "NistPixpdq_Mesa10503-01~UnknownAssigningAuth_Example_01.xml"
# IPF's PDQv3 query: Mary Heidi, born 1940, at an address, in a domain the demo does not have.
PDQ = EXAMPLES / "pdq" / "v3" / "PDQ.xml"

HL7 = "urn:hl7-org:v3"
ADD = "urn:hl7-org:v3:PRPA_IN201301UV02"
REVISE = "urn:hl7-org:v3:PRPA_IN201302UV02"
MERGE = "urn:hl7-org:v3:PRPA_IN201304UV02"
ACKNOWLEDGEMENT = "urn:hl7-org:v3:MCCI_IN000002UV01"
QUERY = "urn:hl7-org:v3:PRPA_IN201309UV02"
QUERY_RESPONSE = "urn:hl7-org:v3:PRPA_IN201310UV02"
DEMOGRAPHICS_QUERY = "urn:hl7-org:v3:PRPA_IN201305UV02"

HOSPITAL_A_OID = "1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B_OID = "1.3.6.1.4.1.21367.13.20.2000"
AFFINITY_OID = "1.3.6.1.4.1.21367.2005.3.7"


def q(local: str) -> str:
    return f"{{{HL7}}}{local}"


def steps(*names: str) -> str:
    return "/".join(q(name) for name in names)


PATIENT = steps("controlActProcess", "subject", "registrationEvent", "subject1", "patient")
PRIOR = steps("controlActProcess", "subject", "registrationEvent", "replacementOf",
              "priorRegistration", "subject1", "priorRegisteredRole")
PARAMETERS = steps("controlActProcess", "queryByParameter", "parameterList")

# Jane Doe as each hospital's HIS knows her; hospital B mistyped her given name.
JANE_AT_A = {"mrn": "A123", "oid": HOSPITAL_A_OID, "given": "JANE", "middle": "M", "family": "DOE",
             "birth": "19800101", "sex": "F", "street": "12 HIGH STREET", "city": "SPRINGFIELD",
             "postcode": "12345", "phone": "555-0101-234"}
JANE_AT_B = {**JANE_AT_A, "mrn": "B777", "oid": HOSPITAL_B_OID, "given": "JAEN",
             "street": "12 HIGH ST"}
# Someone else altogether.
JOHN_AT_B = {"mrn": "B900", "oid": HOSPITAL_B_OID, "given": "WALDO", "middle": "", "family": "SMITHERS",
             "birth": "19511120", "sex": "M", "street": "1 MILL LANE", "city": "SHELBYVILLE",
             "postcode": "99887", "phone": ""}


def one(parent: etree._Element, found_at: str) -> etree._Element:
    """The element at `found_at` under `parent`, which must be there."""
    found = parent.find(found_at)
    assert found is not None, found_at
    return found


def code_of(parent: etree._Element, found_at: str, attribute: str = "code") -> str:
    return one(parent, found_at).get(attribute) or ""


def example(path: Path) -> etree._Element:
    root = etree.parse(str(path)).getroot()
    for comment in root.iter(etree.Comment):
        parent = comment.getparent()
        if parent is not None:
            parent.remove(comment)
    return root


def _fresh_id(message: etree._Element) -> None:
    one(message, q("id")).attrib.update({"root": str(uuid.uuid4()), "extension": "1"})


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, q(tag), attributes)
    element.text = text
    return element


def feed(patient: dict[str, str], *, revise: bool = False) -> etree._Element:
    """PRPA_IN201301UV02 (or 201302) of ITI-44: IPF's maximal registration, its patient replaced."""
    message = example(FEED_REVISE if revise else FEED_REGISTER)
    _fresh_id(message)
    registered = one(message, PATIENT)
    for old in registered.findall(q("id")):
        registered.remove(old)
    registered.insert(0, etree.Element(q("id"), root=patient["oid"], extension=patient["mrn"]))
    person = one(registered, q("patientPerson"))
    for child in list(person):
        person.remove(child)
    name = _sub(person, "name", use="L")
    _sub(name, "given", patient["given"])
    if patient["middle"]:
        _sub(name, "given", patient["middle"])
    _sub(name, "family", patient["family"])
    if patient["phone"]:
        _sub(person, "telecom", use="HP", value=f"tel:{patient['phone']}")
    _sub(person, "administrativeGenderCode", code=patient["sex"])
    _sub(person, "birthTime", value=patient["birth"])
    address = _sub(person, "addr")
    _sub(address, "streetAddressLine", patient["street"])
    _sub(address, "city", patient["city"])
    _sub(address, "postalCode", patient["postcode"])
    return message


def merge(*, surviving: tuple[str, str], subsumed: tuple[str, str]) -> etree._Element:
    """PRPA_IN201304UV02 of ITI-44: IPF's merge example, subsumed (oid, mrn) into surviving."""
    message = example(FEED_MERGE)
    _fresh_id(message)
    one(message, f"{PATIENT}/{q('id')}").attrib.update({"root": surviving[0], "extension": surviving[1]})
    prior = one(message, f"{PRIOR}/{q('id')}")
    prior.attrib.clear()
    prior.attrib.update({"root": subsumed[0], "extension": subsumed[1]})
    return message


def pix_query(oid: str, mrn: str, *, data_sources: tuple[str, ...] = ()) -> etree._Element:
    """PRPA_IN201309UV02 of ITI-45: NIST's query 10501, asking about (oid, mrn) instead."""
    message = example(QUERY_KNOWN)
    _fresh_id(message)
    parameters = one(message, PARAMETERS)
    template = one(parameters, q("dataSource"))
    for old in parameters.findall(q("dataSource")):
        parameters.remove(old)
    for position, source in enumerate(data_sources):
        added = copy.deepcopy(template)
        one(added, q("value")).attrib.update({"root": source})
        parameters.insert(position, added)
    value = one(parameters, steps("patientIdentifier", "value"))
    value.attrib.clear()
    value.attrib.update({"root": oid, "extension": mrn})
    return message


def pdq_query(*, given: str = "", family: str = "", birth: str = "", sex: str = "",
              domains: tuple[str, ...] = (), quantity: int = 0) -> etree._Element:
    """PRPA_IN201305UV02 of ITI-47: IPF's PDQ example, asking for these demographics instead."""
    message = example(PDQ)
    _fresh_id(message)
    query = one(message, steps("controlActProcess", "queryByParameter"))
    # Each query its own queryId, under which its continuation is kept.
    one(query, q("queryId")).set("extension", uuid.uuid4().hex)
    quantity_element = one(query, q("initialQuantity"))
    if quantity:
        quantity_element.set("value", str(quantity))
    else:
        query.remove(quantity_element)
    parameters = one(query, q("parameterList"))
    for child in list(parameters):
        parameters.remove(child)

    def parameter(tag: str, semantics: str) -> etree._Element:
        element = _sub(parameters, tag)
        value = _sub(element, "value")
        _sub(element, "semanticsText", semantics)
        return value

    # PRPA_MT201306UV02.ParameterList's order: gender, birth time, name, other IDs' organisation.
    if sex:
        parameter("livingSubjectAdministrativeGender", "LivingSubject.administrativeGender").set("code", sex)
    if birth:
        parameter("livingSubjectBirthTime", "LivingSubject.birthTime").set("value", birth)
    if given or family:
        name = parameter("livingSubjectName", "LivingSubject.name")
        if given:
            _sub(name, "given", given)
        if family:
            _sub(name, "family", family)
    for domain in domains:
        parameter("otherIDsScopingOrganization", "OtherIDs.scopingOrganization.id").set("root", domain)
    return message


def envelope(action: str, body: etree._Element) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
            f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
            f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
            f"<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address>"
            f"</wsa:ReplyTo><wsa:To>http://localhost/pix/v3</wsa:To></s:Header>"
            f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>").encode()


@cache
def schema(interaction: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{interaction}.xsd")))


def post(client: httpx.Client, action: str, body: etree._Element, *, path: str = "/pix/v3"
         ) -> etree._Element:
    """POST the message; the answer, which must be valid against its HL7 v3 schema."""
    response = client.post(path, content=envelope(action, body), headers={
        "Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'})
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    answer_action = root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") or ""
    interaction = answer_action.rsplit(":", 1)[1]
    answer = root.find(f"{{{SOAP12}}}Body/{q(interaction)}")
    assert answer is not None, response.text
    schema(interaction).assertValid(answer)
    return answer


def acknowledged(answer: etree._Element) -> str:
    return code_of(answer, steps("acknowledgement", "typeCode"))


def details(answer: etree._Element) -> list[tuple[str, str]]:
    return [(code_of(d, q("code")), d.findtext(q("location")) or "")
            for d in answer.iter(q("acknowledgementDetail"))]


def query_status(answer: etree._Element) -> str:
    return code_of(answer, steps("controlActProcess", "queryAck", "queryResponseCode"))


def subjects(answer: etree._Element) -> list[set[tuple[str, str]]]:
    """The ids of each patient a PRPA_IN201306UV02 returns, in order."""
    return [{(i.get("root") or "", i.get("extension") or "") for i in patient.findall(q("id"))}
            for patient in answer.iterfind(steps("controlActProcess", "subject", "registrationEvent",
                                                 "subject1", "patient"))]


def identifiers(answer: etree._Element) -> set[tuple[str, str]]:
    """The (root, extension) of each id of the patient a PRPA_IN201310UV02 returns."""
    found = answer.find(steps("controlActProcess", "subject", "registrationEvent", "subject1", "patient"))
    if found is None:
        return set()
    return {(i.get("root") or "", i.get("extension") or "") for i in found.findall(q("id"))}


ACK_EXAMPLE = PIX_FEED / "Ack.xml"
CONTINUE = "urn:hl7-org:v3:QUQI_IN000003UV01_Continue"
CANCEL = "urn:hl7-org:v3:QUQI_IN000003UV01_Cancel"
PDQ_CONSUMER_DEVICE = "1.2.840.114350.1.13.99998.8735"  # the sender of IPF's PDQ example


def mcci_acknowledgement(type_code: str, *, request: etree._Element | None) -> etree._Element:
    """MCCI_IN000002UV01 as a PIXv3 consumer answers: IPF's example, acknowledging `request`."""
    answer = example(ACK_EXAMPLE)
    _fresh_id(answer)
    one(answer, steps("acknowledgement", "typeCode")).set("code", type_code)
    target = one(answer, steps("acknowledgement", "targetMessage", "id"))
    target.attrib.clear()
    target.set("root", code_of(request, q("id"), "root") if request is not None else "unknown")
    return answer


def query_id_of(query: etree._Element) -> tuple[str, str]:
    """The (root, extension) of the queryId of a PRPA_IN201305UV02 or of a queryAck's answer."""
    found = query.find(f".//{q('queryId')}")
    assert found is not None
    return found.get("root") or "", found.get("extension") or ""


def query_continuation(query_id: tuple[str, str], *, quantity: int = 0, cancel: bool = False,
                       sender: str = PDQ_CONSUMER_DEVICE) -> etree._Element:
    """QUQI_IN000003UV01 (or its _Cancel) of ITI TF-2b 3.47.4.3: the next `quantity` persons of
    the query `query_id`, or no more of them; checked against its schema before it is sent."""
    tag = "QUQI_IN000003UV01_Cancel" if cancel else "QUQI_IN000003UV01"
    message = etree.Element(q(tag), nsmap={None: HL7}, ITSVersion="XML_1.0")  # type: ignore[dict-item]
    _sub(message, "id", root=str(uuid.uuid4()), extension="1")
    _sub(message, "creationTime", value="20250101120000")
    _sub(message, "interactionId", root="2.16.840.1.113883.1.6", extension="QUQI_IN000003UV01")
    _sub(message, "processingCode", code="P")
    _sub(message, "processingModeCode", code="T")
    _sub(message, "acceptAckCode", code="AL")
    for role, device in (("receiver", "1.2.840.114350.1.13.99999.4567"), ("sender", sender)):
        element = _sub(_sub(message, role, typeCode="RCV" if role == "receiver" else "SND"), "device",
                       classCode="DEV", determinerCode="INSTANCE")
        _sub(element, "id", root=device)
    control = _sub(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(control, "code", code="PRPA_TE000003UV01", codeSystem="2.16.840.1.113883.1.6")
    continuation = _sub(control, "queryContinuation")
    _sub(continuation, "queryId", root=query_id[0], extension=query_id[1])
    if quantity:
        _sub(continuation, "continuationQuantity", value=str(quantity))
    # HL7 QueryStatusCode: waitContinuedQueryResponse asks for more, aborted cancels.
    _sub(continuation, "statusCode", code="aborted" if cancel else "waitContinuedQueryResponse")
    schema("QUQI_IN000003UV01").assertValid(message)
    return message
