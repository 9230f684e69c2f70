"""The 14 stored queries of ITI-18 (ITI TF-2a 3.18.4.1.2.3.7), run on plain parameters.

    run(query_id, slots, leaf=..., limit=...) -> list[Found]   raises RegistryErrors

One module per family: `find` (by patient and attributes), `get` (by ids), `contents` (an
object with what it holds). `params` checks the parameters every query declares.
"""

from __future__ import annotations

from registry import errors, selectors
from registry.queries import contents, find, get
from registry.queries.base import Context, StoredQuery
from registry.queries.params import Slots, Value, check
from registry.selectors import Found

QUERIES: dict[str, StoredQuery] = {q.query_id: q for q in (*find.QUERIES, *get.QUERIES, *contents.QUERIES)}

__all__ = ["QUERIES", "Found", "Slots", "StoredQuery", "Value", "run"]


def run(query_id: str, slots: Slots, *, leaf: bool, limit: int) -> list[Found]:
    """The objects a stored query answers, in LeafClass order: each object once."""
    query = QUERIES.get(query_id)
    if query is None:
        # ITI TF-2a 3.18.4.1.3: a query id the registry does not know.
        raise errors.error(errors.UNKNOWN_STORED_QUERY, f"Stored query {query_id!r} is not known.",
                           query_id)
    params = check(query.params, slots, exclusive=query.exclusive)
    level = params.string("$MetadataLevel")
    if level is not None and level not in ("1", "2"):
        # ITI TF-2a 3.18.4.1.2.3.5.1: level 1 or 2 (Metadata Update).
        raise errors.error(errors.REGISTRY_ERROR, f"$MetadataLevel {level} is neither 1 nor 2.",
                           "$MetadataLevel")
    found = list({f.entry_uuid: f for f in query.run(params, Context(leaf=leaf, limit=limit))}.values())
    if len(found) > limit:
        # ITI TF-2a 3.18.4.1.3: more objects than the registry returns in one response.
        raise errors.error(errors.TOO_MANY_RESULTS, f"The query matched more than {limit} objects; "
                           "narrow it down.", query.name)
    if query.single_patient and selectors.several_patients(f.patient_id for f in found):
        # ITI TF-2a 3.18.4.1.2.3.7: a Get* query must not answer for several patients; the IDs
        # are already in the rows, so merges are only looked up when they differ.
        raise errors.error(errors.RESULT_NOT_SINGLE_PATIENT,
                           "The objects asked for belong to more than one patient.", query.name)
    return found


def patient_id_of(query_id: str, slots: Slots) -> str:
    """The patient a query names, for the audit record; empty for the Get* queries."""
    for name in ("$XDSDocumentEntryPatientId", "$XDSSubmissionSetPatientId", "$XDSFolderPatientId",
                 "$patientId"):
        values = slots.get(name)
        if values and values[0]:
            return values[0][0].text
    return ""
