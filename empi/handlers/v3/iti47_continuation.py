"""ITI-47 continuation (ITI TF-2b 3.47.4.3): QUQI_IN000003UV01 asks for the next persons of a
paged PRPA_IN201306UV02, QUQI_IN000003UV01_Cancel for no more of them."""

from __future__ import annotations

from django.db import transaction
from lxml import etree

from empi import selectors_pdq
from empi.handlers.v3.iti47 import (
    audit_query,
    demographics_response,
    query_criteria,
    query_domains,
    query_key,
)
from empi.handlers.v3.wire import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    UNKNOWN_KEY_IDENTIFIER,
    Detail,
    Malformed,
    ii,
    path,
    q,
    read_transmission,
    response_wrapper,
)
from soap import faults
from soap.messages import SoapRequest, SoapResponse
from soap.xml import parse_xml

ACKNOWLEDGEMENT_ACTION = "urn:hl7-org:v3:MCCI_IN000002UV01"
ACKNOWLEDGEMENT = "MCCI_IN000002UV01"
_CONTINUATION = path("controlActProcess", "queryContinuation")
_LOCATION = "/controlActProcess/queryContinuation"
# HL7 QueryResponse: QE, query parameter error. A queryId the supplier keeps no answer under
# (never seen, cancelled, expired, or all sent) is a parameter it cannot act on.
QUERY_ERROR = "QE"


def query_continue(request: SoapRequest) -> SoapResponse:
    """ITI TF-2b 3.47.4.3.3: the next continuationQuantity persons (all that are left when it
    is absent) as a PRPA_IN201306UV02 like the first page's, with the quantities of the whole
    answer; QE with acknowledgementDetail 204 for a queryId with nothing kept under it.
    Audited as the query it continues (ITI TF-2b 3.47.5.1)."""
    if request.body.tag != q("QUQI_IN000003UV01"):
        raise faults.sender("The Body of this action must be urn:hl7-org:v3 QUQI_IN000003UV01.")
    wrapper = read_transmission(request.body)
    continuation = request.body.find(_CONTINUATION)
    raw_request = etree.tostring(continuation, encoding="UTF-8") if continuation is not None else b""
    query_id = continuation.find(q("queryId")) if continuation is not None else None
    try:
        key = _key(query_id)
        quantity = _continuation_quantity(continuation)
        with transaction.atomic():
            page = selectors_pdq.continuation_next(pointer=key, query_tag=wrapper.sender_device,
                                                   quantity=quantity)
            if page is None:
                raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "No answer is kept under this queryId: "
                                       "unknown, cancelled, expired or all sent", f"{_LOCATION}/queryId"))
            parameters = parse_xml(page.query.encode())
            criteria, domains = query_criteria(parameters), query_domains(parameters)
            found = selectors_pdq.pdq_matches(person_ids=page.person_ids, criteria=criteria,
                                              domains=domains)
            audit_query(request, wrapper, page.query.encode(), [m.person.enterprise_id for m in found],
                        outcome=0)
    except Malformed as problem:
        with transaction.atomic():
            audit_query(request, wrapper, raw_request, [], outcome=4)
        return demographics_response(wrapper, None, QUERY_ERROR, details=[problem.detail],
                                     query_id=query_id)
    return demographics_response(wrapper, parameters, "OK" if found else "NF", found=found,
                                 total=page.total, remaining=page.remaining)


def query_cancel(request: SoapRequest) -> SoapResponse:
    """ITI TF-2b 3.47.4.3: the consumer wants no more; the kept answer is dropped and the cancel
    accepted (MCCI_IN000002UV01, AA), or refused with 204 when nothing was kept."""
    if request.body.tag != q("QUQI_IN000003UV01_Cancel"):
        raise faults.sender("The Body of this action must be urn:hl7-org:v3 QUQI_IN000003UV01_Cancel.")
    wrapper = read_transmission(request.body)
    continuation = request.body.find(_CONTINUATION)
    query_id = continuation.find(q("queryId")) if continuation is not None else None
    try:
        with transaction.atomic():
            if not selectors_pdq.continuation_cancel(pointer=_key(query_id), query_tag=wrapper.sender_device):
                raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "No answer is kept under this queryId",
                                       f"{_LOCATION}/queryId"))
    except Malformed as problem:
        return SoapResponse(action=ACKNOWLEDGEMENT_ACTION, body=response_wrapper(
            ACKNOWLEDGEMENT, wrapper, type_code="AE", details=[problem.detail]))
    return SoapResponse(action=ACKNOWLEDGEMENT_ACTION,
                        body=response_wrapper(ACKNOWLEDGEMENT, wrapper, type_code="AA"))


def _key(query_id: etree._Element | None) -> str:
    identifier = ii(query_id)
    if identifier is None or not identifier.root:
        raise Malformed(Detail(REQUIRED_FIELD_MISSING, "The continuation names no queryId",
                               f"{_LOCATION}/queryId"))
    return query_key(identifier)


def _continuation_quantity(continuation: etree._Element | None) -> int:
    element = continuation.find(q("continuationQuantity")) if continuation is not None else None
    text = (element.get("value") or "") if element is not None else ""
    if not text:
        return 0
    if not text.isdigit() or int(text) < 1:
        raise Malformed(Detail(DATA_TYPE_ERROR, "continuationQuantity is not a number of records",
                               f"{_LOCATION}/continuationQuantity"))
    return int(text)
