"""ITI-45 PIXV3 Query (ITI TF-2b 3.45): PRPA_IN201309UV02 in, PRPA_IN201310UV02 out."""

from __future__ import annotations

import copy

from lxml import etree

from audit import services as audit
from audit.events import Peer, query, this_node
from empi import selectors
from empi.handlers.v3.wire import (
    INTERACTION_ROOT,
    REQUIRED_FIELD_MISSING,
    UNKNOWN_KEY_IDENTIFIER,
    Detail,
    Malformed,
    Transmission,
    authority_of,
    ii,
    path,
    q,
    read_transmission,
    response_wrapper,
)
from organisations.models import AssigningAuthority
from soap import faults
from soap.messages import SoapRequest, SoapResponse

TRANSACTION = "ITI-45"
RESPONSE_ACTION = "urn:hl7-org:v3:PRPA_IN201310UV02"
RESPONSE = "PRPA_IN201310UV02"
_QUERY = path("controlActProcess", "queryByParameter")
_PARAMETERS = "/controlActProcess/queryByParameter/parameterList"


def pix_query(request: SoapRequest) -> SoapResponse:
    """ITI TF-2b 3.45.4.2.3: OK with the cross-referenced identifiers; NF when the patient is known
    but has none in the domains asked for; AE with acknowledgementDetail 204 for an identifier or
    a domain the manager does not know: the patient identifier, its root, or a dataSource's."""
    if request.body.tag != q("PRPA_IN201309UV02"):
        raise faults.sender("The Body of this action must be urn:hl7-org:v3 PRPA_IN201309UV02.")
    wrapper = read_transmission(request.body)
    parameters = request.body.find(_QUERY)
    raw_query = etree.tostring(parameters, encoding="UTF-8") if parameters is not None else b""
    asked = ""
    try:
        if parameters is None:
            raise Malformed(Detail(REQUIRED_FIELD_MISSING, "The query has no queryByParameter",
                                   "/controlActProcess/queryByParameter"))
        identifier = ii(parameters.find(path("parameterList", "patientIdentifier", "value")))
        location = f"{_PARAMETERS}/patientIdentifier/value"
        if identifier is None or not identifier.extension or not identifier.root:
            raise Malformed(Detail(REQUIRED_FIELD_MISSING, "patientIdentifier names no patient "
                                   "identifier", location))
        asked = identifier.cx
        authority = authority_of(identifier)
        if authority is None:
            raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "The assigning authority of "
                                   "patientIdentifier is not known", location))
        domains = _domains(parameters)
        if not selectors.identifier_known(authority=authority, identifier=identifier.extension):
            raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "The patient identifier of "
                                   "patientIdentifier is not known", location))
    except Malformed as problem:
        _audit(request, wrapper, raw_query, [asked] if asked else [], outcome=4)
        return _response(wrapper, parameters, "AE", details=[problem.detail])
    found = selectors.cross_references(authority=authority, identifier=identifier.extension,
                                       domains=domains)
    _audit(request, wrapper, raw_query, [f"{identifier.extension}^^^{authority.cx4}"], outcome=0)
    return _response(wrapper, parameters, "OK" if found else "NF", found=found)


def _domains(parameters: etree._Element) -> list[AssigningAuthority] | None:
    """The dataSources, what domains returned; every one must be known (ITI TF-2b 3.45.4.2.3)."""
    domains: list[AssigningAuthority] = []
    for number, source in enumerate(parameters.findall(path("parameterList", "dataSource")), start=1):
        value = ii(source.find(q("value")))
        if value is None or not value.root:
            continue
        authority = authority_of(value)
        if authority is None:
            raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "A dataSource of the query is not known",
                                   f"{_PARAMETERS}/dataSource[{number}]/value"))
        domains.append(authority)
    return domains or None


def _response(wrapper: Transmission, parameters: etree._Element | None, status: str, *,
              details: list[Detail] | None = None,
              found: list[tuple[AssigningAuthority, str]] | None = None) -> SoapResponse:
    root = response_wrapper(RESPONSE, wrapper, type_code="AE" if status == "AE" else "AA",
                            details=details or [])
    control = etree.SubElement(root, q("controlActProcess"), classCode="CACT", moodCode="EVN")
    etree.SubElement(control, q("code"), code="PRPA_TE201310UV02", codeSystem=INTERACTION_ROOT)
    if found:
        _subject(control, found)
    ack = etree.SubElement(control, q("queryAck"))
    query_id = parameters.find(q("queryId")) if parameters is not None else None
    if query_id is not None:
        ack.append(copy.deepcopy(query_id))
    etree.SubElement(ack, q("statusCode"), code="deliveredResponse")
    etree.SubElement(ack, q("queryResponseCode"), code=status)
    if parameters is not None:
        control.append(copy.deepcopy(parameters))
    return SoapResponse(action=RESPONSE_ACTION, body=root)


def _subject(control: etree._Element, found: list[tuple[AssigningAuthority, str]]) -> None:
    """ITI TF-2b 3.45.4.2.2: one patient carrying each cross-referenced identifier as an id,
    its name null (the query returns identifiers, not demographics)."""
    event = etree.SubElement(etree.SubElement(control, q("subject"), typeCode="SUBJ"),
                             q("registrationEvent"), classCode="REG", moodCode="EVN")
    etree.SubElement(event, q("id"), nullFlavor="NA")
    etree.SubElement(event, q("statusCode"), code="active")
    patient = etree.SubElement(etree.SubElement(event, q("subject1"), typeCode="SBJ"), q("patient"),
                               classCode="PAT")
    for authority, identifier in found:
        attributes = {"root": authority.universal_id, "extension": identifier}
        if authority.namespace_id:
            attributes["assigningAuthorityName"] = authority.namespace_id
        etree.SubElement(patient, q("id"), attributes)
    etree.SubElement(patient, q("statusCode"), code="active")
    person = etree.SubElement(patient, q("patientPerson"), classCode="PSN", determinerCode="INSTANCE")
    etree.SubElement(person, q("name"), nullFlavor="NA")
    # The custodian is the affinity domain, whose EMPI holds the cross-references.
    affinity = next((authority for authority, _ in found if authority.is_affinity_domain), None)
    custodian = etree.SubElement(etree.SubElement(event, q("custodian"), typeCode="CST"),
                                 q("assignedEntity"), classCode="ASSIGNED")
    if affinity is not None:
        etree.SubElement(custodian, q("id"), root=affinity.universal_id)
    else:
        etree.SubElement(custodian, q("id"), nullFlavor="UNK")


def _audit(request: SoapRequest, wrapper: Transmission, raw_query: bytes, patient_ids: list[str], *,
           outcome: int) -> None:
    # ITI TF-2b 3.45.5.1: the query (its queryByParameter) and the patient asked about. A query
    # changes nothing, so its record commits on its own.
    reply_to = request.addressing.reply_to or ""
    source = reply_to if reply_to and not reply_to.endswith("/anonymous") else wrapper.sender_device
    audit.record_alone(query(
        transaction=TRANSACTION, sender=Peer(user_id=source or reply_to, host=request.remote_addr),
        receiver=this_node(request.addressing.to or f"/{request.endpoint}"), raw_query=raw_query,
        patient_ids=patient_ids, message_id=wrapper.message_id_text, outcome=outcome))
