"""The audit records of FHIR interactions, written as the IHE transaction's own audit section
says (ITI-66/67/78/81/83 are queries, ITI-68 an export, ITI-65 an import, ITI-104 a patient
record) and, for an interaction no transaction describes, in the BALP style (audit.events.rest)."""

from __future__ import annotations

from collections.abc import Sequence

from audit import services
from audit.events import DocumentRef, Peer, export, import_, patient_record, query, this_node
from audit.events.rest import rest_interaction
from audit.events.transactions import QUERY_TRANSACTIONS
from audit.records import AuditRecord
from fhir_api.errors import FhirError
from fhir_api.request import FhirRequest


def sender(request: FhirRequest) -> Peer:
    return Peer(user_id=request.client.client_id or "anonymous", host=request.client.host)


def receiver(request: FhirRequest) -> Peer:
    path = f"{request.base}/{request.resource_type}" if request.resource_type else request.base
    return this_node(path)


def queried(request: FhirRequest, *, patient_ids: Sequence[str] = (), outcome: int = 0,
            description: str = "", alone: bool = False) -> None:
    """A search, read or operation answered: Query 110112 with the URL as the query (ITI TF-2
    3.67.5.1.2, 3.78.5.1.2, 3.83.5.1.2), or a BALP RESTful operation."""
    _write(request, _query_record(request, patient_ids, outcome, description), alone=alone)


def exported(request: FhirRequest, *, patient_id: str, documents: Sequence[DocumentRef]) -> None:
    """ITI-68 answered: Export 110106 of the document (ITI TF-2 3.68.5.1.2)."""
    _write(request, export(transaction="ITI-68", sender=this_node(request.base), receiver=sender(request),
                           patient_id=patient_id, documents=documents))


def refused(request: FhirRequest, error: FhirError) -> None:
    """A refused interaction, recorded on its own: nothing else was written."""
    outcome = 8 if error.status >= 500 else 4
    description = f"HTTP {error.status} {error.code}: {error.diagnostics}"[:1000]
    transaction = request.transaction
    if transaction == "ITI-65":
        built = import_(transaction=transaction, sender=sender(request), receiver=receiver(request),
                        outcome=outcome, outcome_description=description)
    elif transaction == "ITI-68":
        built = export(transaction=transaction, sender=this_node(request.base), receiver=sender(request),
                       outcome=outcome, outcome_description=description)
    elif transaction == "ITI-104":
        built = patient_record(transaction=transaction, action=_feed_action(request), sender=sender(request),
                               receiver=receiver(request), patient_ids=(), outcome=outcome,
                               outcome_description=description)
    else:
        built = _query_record(request, (), outcome, description)
    _write(request, built, alone=True)


def _query_record(request: FhirRequest, patient_ids: Sequence[str], outcome: int,
                  description: str) -> AuditRecord:
    if request.transaction in QUERY_TRANSACTIONS:
        return query(transaction=request.transaction, sender=sender(request), receiver=receiver(request),
                     raw_query=request.url.encode(), patient_ids=patient_ids, outcome=outcome,
                     outcome_description=description)
    resource = f"{request.resource_type}/{request.resource_id}" if request.resource_id else ""
    return rest_interaction(interaction=request.interaction, sender=sender(request),
                            receiver=receiver(request), url=request.url, resource=resource,
                            patient_ids=patient_ids, outcome=outcome, outcome_description=description)


def _feed_action(request: FhirRequest) -> str:
    return "D" if request.method == "DELETE" else "U"


def _write(request: FhirRequest, built: AuditRecord, *, alone: bool = False) -> None:
    if alone:
        services.record_alone(built, organisation=request.client.organisation)
    else:
        services.record(built, organisation=request.client.organisation)
