"""ITI-18 Registry Stored Query: the SOAP handler (ITI TF-2a 3.18)."""

from __future__ import annotations

from django.conf import settings
from lxml import etree

from audit import services as audit
from audit.events import Peer, query, this_node
from registry import errors, queries
from registry.ebrim.query import LEAF_CLASS, query_response, read_query
from soap.messages import SoapRequest, SoapResponse

RESPONSE_ACTION = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
# DICOM PS3.15 A.5.3: EventOutcomeIndicator.
_SUCCESS, _MINOR_FAILURE = 0, 4


def registry_stored_query(request: SoapRequest) -> SoapResponse:
    """Run the stored query and answer its objects, or the RegistryErrors it failed with."""
    raw_query = etree.tostring(request.body, encoding="UTF-8")
    query_id, patient_id, home = "", "", ""
    found: list[queries.Found] = []
    problems: list[errors.RegistryError] = []
    return_type = LEAF_CLASS
    try:
        parsed = read_query(request.body)
        query_id, return_type, home = parsed.query_id, parsed.return_type, parsed.home_community_id
        patient_id = queries.patient_id_of(parsed.query_id, parsed.slots)
        # REGISTRY_MAX_RESULTS: beyond it the answer is XDSTooManyResults (ITI TF-2a 3.18.4.1.3).
        limit = settings.REGISTRY_MAX_RESULTS
        found = queries.run(parsed.query_id, parsed.slots, leaf=return_type == LEAF_CLASS, limit=limit)
    except errors.RegistryErrors as refused:
        problems = refused.errors
    _audit(request, raw_query=raw_query, query_id=query_id, patient_id=patient_id, home=home,
           problems=problems)
    return SoapResponse(action=RESPONSE_ACTION,
                        body=query_response(found, return_type=return_type, problems=problems))


def _audit(request: SoapRequest, *, raw_query: bytes, query_id: str, patient_id: str, home: str,
           problems: list[errors.RegistryError]) -> None:
    # ITI TF-2a 3.18.5.1.2: Source is the consumer's wsa:ReplyTo, Destination this endpoint. A
    # query changes nothing, so its record commits on its own.
    failed = [p for p in problems if p.is_error]
    record = query(
        transaction="ITI-18", raw_query=raw_query, query_id=query_id,
        sender=Peer(user_id=request.addressing.reply_to or "", host=request.remote_addr),
        receiver=this_node(request.addressing.to or f"/{request.endpoint}"),
        patient_ids=[patient_id] if patient_id else [], home_community_id=home,
        outcome=_MINOR_FAILURE if failed else _SUCCESS,
        outcome_description="; ".join(f"{p.code}: {p.context}" for p in failed)[:1000])
    audit.record_alone(record)
