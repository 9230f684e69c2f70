"""ITI-47 Patient Demographics Query HL7 v3 (ITI TF-2b 3.47): PRPA_IN201305UV02 in,
PRPA_IN201306UV02 out."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from django.db import transaction
from lxml import etree

from audit import services as audit
from audit.events import Peer, query, this_node
from empi import selectors_pdq
from empi.handlers.v3.wire import (
    DATA_TYPE_ERROR,
    II,
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
from empi.matching.record import date
from empi.models import PatientRecord
from empi.selectors_pdq import IdentifierCriterion, PdqCriteria, PdqMatch
from organisations.models import AssigningAuthority
from soap import faults
from soap.messages import SoapRequest, SoapResponse

TRANSACTION = "ITI-47"
RESPONSE_ACTION = "urn:hl7-org:v3:PRPA_IN201306UV02"
RESPONSE = "PRPA_IN201306UV02"
_QUERY = path("controlActProcess", "queryByParameter")
_PARAMETERS = "/controlActProcess/queryByParameter/parameterList"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def patient_demographics_query(request: SoapRequest) -> SoapResponse:
    """ITI TF-2b 3.47.4.2.3: OK with one subject per matching patient, NF when none, AE with
    acknowledgementDetail 204 for an otherIDsScopingOrganization the supplier does not know.
    initialQuantity limits the subjects of the answer; resultRemainingQuantity says how many
    more matched, kept for the continuation (`iti47_continuation`) under the query's queryId."""
    if request.body.tag != q("PRPA_IN201305UV02"):
        raise faults.sender("The Body of this action must be urn:hl7-org:v3 PRPA_IN201305UV02.")
    wrapper = read_transmission(request.body)
    parameters = request.body.find(_QUERY)
    raw_query = etree.tostring(parameters, encoding="UTF-8") if parameters is not None else b""
    try:
        if parameters is None:
            raise Malformed(Detail(REQUIRED_FIELD_MISSING, "The query has no queryByParameter",
                                   "/controlActProcess/queryByParameter"))
        criteria = query_criteria(parameters)
        domains = query_domains(parameters)
        limit = _initial_quantity(parameters)
        query_id = ii(parameters.find(q("queryId")))
        with transaction.atomic():
            person_ids = selectors_pdq.pdq_search(criteria=criteria, domains=domains)
            page, rest = (person_ids[:limit], person_ids[limit:]) if limit else (person_ids, [])
            if rest and query_id is not None:
                # ITI TF-2b 3.47.4.1.3.3: the rest waits for QUQI_IN000003UV01 under the queryId.
                selectors_pdq.continuation_keep(
                    pointer=query_key(query_id), query_tag=wrapper.sender_device, remaining=rest,
                    total=len(person_ids), query=raw_query.decode())
            found = selectors_pdq.pdq_matches(person_ids=page, criteria=criteria, domains=domains)
            audit_query(request, wrapper, raw_query, [m.person.enterprise_id for m in found], outcome=0)
    except Malformed as problem:
        with transaction.atomic():
            audit_query(request, wrapper, raw_query, [], outcome=4)
        return demographics_response(wrapper, parameters, "AE", details=[problem.detail])
    return demographics_response(wrapper, parameters, "OK" if found else "NF", found=found,
                                 total=len(person_ids))


def query_criteria(parameters: etree._Element) -> PdqCriteria:
    """The parameterList (PRPA_MT201306UV02) as the EMPI's PDQ criteria. Parameters the EMPI
    keeps nothing of (patientStatusCode, principalCareProvider...) are ignored."""
    values: dict[str, Any] = {}
    listed = path("parameterList")
    givens: list[str] = []
    for value in parameters.findall(f"{listed}/{path('livingSubjectName', 'value')}"):
        givens += [(g.text or "").strip() for g in value.findall(q("given")) if (g.text or "").strip()]
        family = (value.findtext(q("family")) or "").strip()
        if family:
            values["family"] = family
    if givens:
        values["given"], values["middle"] = givens[0], " ".join(givens[1:])
    birth = parameters.find(f"{listed}/{path('livingSubjectBirthTime', 'value')}")
    if birth is not None and birth.get("value"):
        if not date(birth.get("value") or ""):
            raise Malformed(Detail(DATA_TYPE_ERROR, "The birth time asked for is not a date",
                                   f"{_PARAMETERS}/livingSubjectBirthTime/value"))
        values["birth_date"] = birth.get("value")
    gender = parameters.find(f"{listed}/{path('livingSubjectAdministrativeGender', 'value')}")
    if gender is not None and gender.get("code"):
        values["sex"] = gender.get("code")
    address = parameters.find(f"{listed}/{path('patientAddress', 'value')}")
    if address is not None:
        for tag, key in (("streetAddressLine", "street"), ("city", "city"), ("postalCode", "postcode")):
            text = (address.findtext(q(tag)) or "").strip()
            if text:
                values[key] = text
    telecom = parameters.find(f"{listed}/{path('patientTelecom', 'value')}")
    if telecom is not None and (telecom.get("value") or "").startswith("tel:"):
        values["phone"] = (telecom.get("value") or "")[4:]
    mothers = parameters.findtext(f"{listed}/{path('mothersMaidenName', 'value', 'family')}")
    if mothers and mothers.strip():
        values["mothers_maiden_name"] = mothers.strip()
    criteria = replace(PdqCriteria(), **values)
    identifiers: list[IdentifierCriterion] = []
    for element in parameters.findall(f"{listed}/{path('livingSubjectId', 'value')}"):
        identifier = ii(element)
        if identifier is None or not identifier.extension:
            continue
        authority = authority_of(identifier) if identifier.root or identifier.authority_name else None
        if authority is None and (identifier.root or identifier.authority_name):
            # No patient of a domain the affinity domain does not know can match.
            criteria = replace(criteria, impossible=True)
            continue
        identifiers.append(IdentifierCriterion(identifier=identifier.extension, authority=authority))
    criteria = replace(criteria, identifiers=tuple(identifiers))
    if criteria.is_empty():
        raise Malformed(Detail(REQUIRED_FIELD_MISSING, "The query names no parameter the supplier "
                               "searches", _PARAMETERS))
    return criteria


def query_domains(parameters: etree._Element) -> list[AssigningAuthority] | None:
    """otherIDsScopingOrganization, the domains returned; every one must be known."""
    domains: list[AssigningAuthority] = []
    found = parameters.findall(path("parameterList", "otherIDsScopingOrganization"))
    for number, organisation in enumerate(found, start=1):
        value = ii(organisation.find(q("value")))
        if value is None or not value.root:
            continue
        authority = authority_of(value)
        if authority is None:
            raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "An otherIDsScopingOrganization of the "
                                   "query is not known",
                                   f"{_PARAMETERS}/otherIDsScopingOrganization[{number}]/value"))
        domains.append(authority)
    return domains or None


def _initial_quantity(parameters: etree._Element) -> int:
    element = parameters.find(q("initialQuantity"))
    text = (element.get("value") or "") if element is not None else ""
    if not text:
        return 0
    if not text.isdigit() or int(text) < 1:
        raise Malformed(Detail(DATA_TYPE_ERROR, "initialQuantity is not a number of records",
                               "/controlActProcess/queryByParameter/initialQuantity"))
    return int(text)


def demographics_response(wrapper: Transmission, parameters: etree._Element | None, status: str, *,
                          details: list[Detail] | None = None, found: list[PdqMatch] | None = None,
                          total: int = 0, remaining: int | None = None,
                          query_id: etree._Element | None = None) -> SoapResponse:
    """PRPA_IN201306UV02: `status` is the queryResponseCode (OK, NF, AE, QE); `remaining`
    defaults to what `total` leaves after this page; `query_id` to the query's own."""
    failed = status in ("AE", "QE")
    root = response_wrapper(RESPONSE, wrapper, type_code="AE" if failed else "AA", details=details or [])
    control = etree.SubElement(root, q("controlActProcess"), classCode="CACT", moodCode="EVN")
    etree.SubElement(control, q("code"), code="PRPA_TE201306UV02", codeSystem=INTERACTION_ROOT)
    for match in found or []:
        _subject(control, match)
    ack = etree.SubElement(control, q("queryAck"))
    if query_id is None and parameters is not None:
        query_id = parameters.find(q("queryId"))
    if query_id is not None:
        ack.append(copy.deepcopy(query_id))
    etree.SubElement(ack, q("statusCode"), code="deliveredResponse")
    etree.SubElement(ack, q("queryResponseCode"), code=status)
    if not failed:
        current = len(found or [])
        etree.SubElement(ack, q("resultTotalQuantity"), value=str(total))
        etree.SubElement(ack, q("resultCurrentQuantity"), value=str(current))
        left = total - current if remaining is None else remaining
        etree.SubElement(ack, q("resultRemainingQuantity"), value=str(left))
    if parameters is not None:
        control.append(copy.deepcopy(parameters))
    return SoapResponse(action=RESPONSE_ACTION, body=root)


def query_key(query_id: II) -> str:
    """A queryId as the key of its continuation: root, and extension when there is one."""
    return ":".join(part for part in (query_id.root, query_id.extension) if part)


def _subject(control: etree._Element, match: PdqMatch) -> None:
    """ITI TF-2b 3.47.4.2.2: one registrationEvent per patient, its ids from the domains
    returned and its demographics from the record that speaks for the person."""
    subject = etree.SubElement(control, q("subject"), typeCode="SUBJ")
    event = etree.SubElement(subject, q("registrationEvent"), classCode="REG", moodCode="EVN")
    etree.SubElement(event, q("id"), nullFlavor="NA")
    etree.SubElement(event, q("statusCode"), code="active")
    patient = etree.SubElement(etree.SubElement(event, q("subject1"), typeCode="SBJ"), q("patient"),
                               classCode="PAT")
    for authority, identifier in match.identifiers:
        attributes = {"root": authority.universal_id, "extension": identifier}
        if authority.namespace_id:
            attributes["assigningAuthorityName"] = authority.namespace_id
        etree.SubElement(patient, q("id"), attributes)
    if not match.identifiers:
        etree.SubElement(patient, q("id"), nullFlavor="NA")
    etree.SubElement(patient, q("statusCode"), code="active")
    _person(etree.SubElement(patient, q("patientPerson"), classCode="PSN", determinerCode="INSTANCE"),
            match.record)
    # ITI TF-2b 3.47.4.2.2: the degree of match; the supplier's matches are exact.
    observation = etree.SubElement(etree.SubElement(patient, q("subjectOf1")),
                                   q("queryMatchObservation"), classCode="COND", moodCode="EVN")
    etree.SubElement(observation, q("code"), code="IHE_PDQ")
    etree.SubElement(observation, q("value"), {_XSI_TYPE: "INT", "value": "100"})
    custodian = etree.SubElement(etree.SubElement(event, q("custodian"), typeCode="CST"),
                                 q("assignedEntity"), classCode="ASSIGNED")
    affinity = next((a for a, _ in match.identifiers if a.is_affinity_domain), None)
    if affinity is not None:
        etree.SubElement(custodian, q("id"), root=affinity.universal_id)
    else:
        etree.SubElement(custodian, q("id"), nullFlavor="UNK")


def _person(person: etree._Element, record: PatientRecord | None) -> None:
    """The speaking record's demographics, as the EMPI keeps them (normalised)."""
    if record is None or not (record.family or record.given):
        etree.SubElement(person, q("name"), nullFlavor="UNK")
        return
    name = etree.SubElement(person, q("name"), use="L")
    for given in (record.given, *record.middle.split()):
        if given:
            etree.SubElement(name, q("given")).text = given
    if record.family:
        etree.SubElement(name, q("family")).text = record.family
    if record.phone:
        etree.SubElement(person, q("telecom"), value=f"tel:{record.phone}")
    if record.sex:
        etree.SubElement(person, q("administrativeGenderCode"), code=record.sex,
                         codeSystem="2.16.840.1.113883.5.1")
    if record.birth_date:
        etree.SubElement(person, q("birthTime"), value=record.birth_date)
    if record.street or record.city or record.postcode:
        address = etree.SubElement(person, q("addr"))
        for tag, value in (("streetAddressLine", record.street), ("city", record.city),
                           ("postalCode", record.postcode)):
            if value:
                etree.SubElement(address, q(tag)).text = value


def audit_query(request: SoapRequest, wrapper: Transmission, raw_query: bytes, patient_ids: list[str], *,
           outcome: int) -> None:
    # ITI TF-2b 3.47.5.1: the query (its queryByParameter) and the patients the answer returns.
    reply_to = request.addressing.reply_to or ""
    source = reply_to if reply_to and not reply_to.endswith("/anonymous") else wrapper.sender_device
    audit.record(query(
        transaction=TRANSACTION, sender=Peer(user_id=source or reply_to, host=request.remote_addr),
        receiver=this_node(request.addressing.to or f"/{request.endpoint}"), raw_query=raw_query,
        patient_ids=patient_ids, message_id=wrapper.message_id_text, outcome=outcome))
