"""ITI-44 Patient Identity Feed HL7 v3 (ITI TF-2b 3.44): PRPA_IN201301/02/04UV02 in,
MCCI_IN000002UV01 out."""

from __future__ import annotations

from django.db import transaction
from lxml import etree

from audit import services as audit
from audit.edges import not_theirs
from audit.events import Peer, patient_record, this_node
from empi import services
from empi.errors import EmpiError, UnknownRecord
from empi.handlers.v3.wire import (
    APPLICATION_INTERNAL_ERROR,
    UNKNOWN_KEY_IDENTIFIER,
    Detail,
    Malformed,
    Transmission,
    known_identifiers,
    path,
    person_demographics,
    q,
    raw_person,
    read_transmission,
    response_wrapper,
)
from organisations.models import AssigningAuthority
from organisations.selectors import foreign_authorities
from soap import faults
from soap.messages import SoapRequest, SoapResponse

TRANSACTION = "ITI-44"
RESPONSE_ACTION = "urn:hl7-org:v3:MCCI_IN000002UV01"
ACKNOWLEDGEMENT = "MCCI_IN000002UV01"
_PATIENT = path("controlActProcess", "subject", "registrationEvent", "subject1", "patient")
_PRIOR = path("controlActProcess", "subject", "registrationEvent", "replacementOf", "priorRegistration",
              "subject1", "priorRegisteredRole", "id")
_PATIENT_LOCATION = "/controlActProcess/subject/registrationEvent/subject1/patient/id"
_PRIOR_LOCATION = ("/controlActProcess/subject/registrationEvent/replacementOf/priorRegistration/"
                   "subject1/priorRegisteredRole/id")


def patient_registry_record_added(request: SoapRequest) -> SoapResponse:
    """PRPA_IN201301UV02 (ITI TF-2b 3.44.4.1): a new patient, matched on arrival."""
    return _feed(request, "PRPA_IN201301UV02", action="C")


def patient_registry_record_revised(request: SoapRequest) -> SoapResponse:
    """PRPA_IN201302UV02 (ITI TF-2b 3.44.4.1): the patient's demographics updated."""
    return _feed(request, "PRPA_IN201302UV02", action="U")


def patient_registry_duplicates_resolved(request: SoapRequest) -> SoapResponse:
    """PRPA_IN201304UV02 (ITI TF-2b 3.44.4.2): the identifier of priorRegisteredRole is merged
    into the patient of subject1, as ADT^A40 does over HL7 v2."""
    message = _message(request, "PRPA_IN201304UV02")
    wrapper = read_transmission(message)
    try:
        patient = _patient(message)
        surviving = _own(request, known_identifiers(patient.findall(q("id")), _PATIENT_LOCATION),
                         _PATIENT_LOCATION)[0]
        subsumed = _own(request, known_identifiers(message.findall(_PRIOR), _PRIOR_LOCATION),
                        _PRIOR_LOCATION)[0]
        person = patient.find(q("patientPerson"))
        services.person_merge(
            surviving_authority=surviving[0], surviving_identifier=surviving[1],
            subsumed_authority=subsumed[0], subsumed_identifier=subsumed[1],
            demographics=person_demographics(person) if _has_demographics(person) else None,
            raw=raw_person(person), source=_source(request, wrapper),
            source_host=request.remote_addr, message_id=wrapper.message_id_text,
            transaction_name=TRANSACTION)
    except Malformed as problem:
        return _refuse(request, wrapper, problem.detail, action="U", alert=isinstance(problem, NotTheirs))
    except UnknownRecord:
        return _refuse(request, wrapper, Detail(UNKNOWN_KEY_IDENTIFIER, "The patient of "
                                                "priorRegisteredRole is not known", _PRIOR_LOCATION),
                       action="U")
    except EmpiError:
        return _refuse(request, wrapper, _not_configured(), action="U")
    return _answer(wrapper, "AA")


def _feed(request: SoapRequest, interaction: str, *, action: str) -> SoapResponse:
    message = _message(request, interaction)
    wrapper = read_transmission(message)
    try:
        patient = _patient(message)
        identifiers = _own(request, known_identifiers(patient.findall(q("id")), _PATIENT_LOCATION),
                           _PATIENT_LOCATION)
        person = patient.find(q("patientPerson"))
        services.patient_feed(
            identifiers=identifiers, demographics=person_demographics(person), raw=raw_person(person),
            source=_source(request, wrapper), source_host=request.remote_addr,
            message_id=wrapper.message_id_text, transaction_name=TRANSACTION)
    except Malformed as problem:
        return _refuse(request, wrapper, problem.detail, action=action, alert=isinstance(problem, NotTheirs))
    except EmpiError:
        return _refuse(request, wrapper, _not_configured(), action=action)
    return _answer(wrapper, "AA")


def _message(request: SoapRequest, interaction: str) -> etree._Element:
    if request.body.tag != q(interaction):
        raise faults.sender(f"The Body of this action must be urn:hl7-org:v3 {interaction}.")
    return request.body


def _patient(message: etree._Element) -> etree._Element:
    patient = message.find(_PATIENT)
    if patient is None:
        raise Malformed(Detail("100", "The message has no registrationEvent/subject1/patient",
                               "/controlActProcess/subject/registrationEvent/subject1/patient"))
    return patient


def _has_demographics(person: etree._Element | None) -> bool:
    # The merge example names the survivor with `<name>Unknown</name>` only: nothing to update.
    if person is None:
        return False
    return any(person.find(q(tag)) is not None
               for tag in ("birthTime", "administrativeGenderCode", "addr", "telecom")) or any(
        name.find(q("family")) is not None or name.find(q("given")) is not None
        for name in person.findall(q("name")))


def _answer(wrapper: Transmission, type_code: str, details: list[Detail] | None = None) -> SoapResponse:
    return SoapResponse(action=RESPONSE_ACTION,
                        body=response_wrapper(ACKNOWLEDGEMENT, wrapper, type_code=type_code,
                                              details=details or []))


class NotTheirs(Malformed):
    """An organisation authenticated by its certificate naming another's assigning authority."""


def _own(request: SoapRequest, found: list[tuple[AssigningAuthority, str]], location: str
         ) -> list[tuple[AssigningAuthority, str]]:
    """Over HTTPS the certificate's organisation feeds under its own authorities only (ITI TF-2
    3.19, ITI TF-2b 3.44.4.1.3); another's is answered AE 204 as an unknown domain would be."""
    if foreign_authorities(organisation=request.organisation_code, authorities=[a for a, _ in found]):
        raise NotTheirs(Detail(UNKNOWN_KEY_IDENTIFIER, "The identifier names an assigning authority of "
                               "another organisation", location))
    return found


def _refuse(request: SoapRequest, wrapper: Transmission, detail: Detail, *, action: str,
            alert: bool = False) -> SoapResponse:
    """AE with the acknowledgementDetail, and the refusal audited in a transaction of its own."""
    sender = Peer(user_id=_source(request, wrapper), host=request.remote_addr)
    with transaction.atomic():
        audit.record(patient_record(
            transaction=TRANSACTION, action=action, sender=sender,
            receiver=this_node(request.addressing.to or f"/{request.endpoint}"), patient_ids=[],
            message_id=wrapper.message_id_text, outcome=4,
            outcome_description=f"{detail.code} {detail.text}"))
    if alert:
        not_theirs(transaction=TRANSACTION, organisation=request.organisation_code, performer=sender,
                   detail=f"{detail.text} ({detail.location})")
    return _answer(wrapper, "AE", [detail])


def _not_configured() -> Detail:
    # Only configuration problems are left here: the message itself was fine.
    return Detail(APPLICATION_INTERNAL_ERROR, "The EMPI is not configured for this feed")


def _source(request: SoapRequest, wrapper: Transmission) -> str:
    # ITI TF-2b 3.44.5.1.1: the source is its wsa:ReplyTo; the sender device names it otherwise.
    reply_to = request.addressing.reply_to or ""
    if reply_to and not reply_to.endswith("/anonymous"):
        return reply_to
    return wrapper.sender_device or reply_to
