"""Protocol handler: ITI-67 Find Document References (MHD 4.2 ITI TF-2 3.67) and the read of one.

The search parameters become ITI-18 FindDocuments' filter (ITI TF-2 3.67.4.1.2.1 maps each to
its stored query parameter), so FHIR and SOAP consumers get the same matches from the same SELECT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir_api import audit
from fhir_api.bundle import searchset
from fhir_api.errors import bad_request, not_found
from fhir_api.identity import cx_of_token, enterprise_ids_of_reference, subject_of_cx
from fhir_api.mhd import codes
from fhir_api.mhd.document_reference import Relation, document_reference
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import DateRange, Search, Token
from registry import metadata, selectors
from registry.selectors import CodeMatch, DocumentFilter, Found, TimeRange

# ITI TF-2 3.67.4.1.2.1: token parameters on single-valued codes -> the registry's column prefix.
_COLUMN_CODES = {"type": "type", "category": "class", "setting": "practice_setting",
                 "facility": "healthcare_facility_type", "format": "format"}
_CODE_LISTS = {"event": "eventCodeList", "security-label": "confidentialityCode"}
# ITI TF-3 4.2.3.1.7 (CXi.5): the reference ID types a referenceIdList value may carry.
_REFERENCE_ID_TYPES = ("urn:ihe:iti:xds:2013:uniqueId", "urn:ihe:iti:xds:2013:accession",
                       "urn:ihe:iti:xds:2013:referral", "urn:ihe:iti:xds:2013:order",
                       "urn:ihe:iti:xds:2013:workflowId", "urn:ihe:iti:xds:2015:encounterId")
_RELATIONS_LIMIT = 100_000


def find_document_references(request: FhirRequest) -> FhirResponse:
    search = Search(request)
    patient_id = patient_of(search)
    if patient_id is None:
        # ITI TF-2 3.67.4.2: a patient the registry does not know has no documents: an empty Bundle.
        audit.queried(request)
        return FhirResponse(resource=searchset(request, search, resources=[], total=0))
    found, total = selectors.document_page(document_filter(search, patient_id=patient_id),
                                           offset=search.offset, limit=search.count)
    audit.queried(request, patient_ids=[patient_id])
    resources = document_references(found, request.base)
    return FhirResponse(resource=searchset(request, search, resources=resources, total=total))


def read_document_reference(request: FhirRequest) -> FhirResponse:
    wanted = DocumentFilter(entry_uuids=[codes.entry_uuid_of_id(request.resource_id)])
    found, _ = selectors.document_page(wanted, offset=0, limit=1)
    if not found:
        raise not_found(f"DocumentReference/{request.resource_id} is not known here")
    audit.queried(request, patient_ids=[found[0].patient_id])
    return FhirResponse(resource=document_references(found, request.base)[0])


def document_references(found: Sequence[Found], base: str) -> list[dict[str, Any]]:
    """The page's DocumentReferences: their relationships in one SELECT, subjects once per patient."""
    relations: dict[str, list[Relation]] = {}
    if found:
        for association in selectors.associations(leaf=False, limit=_RELATIONS_LIMIT,
                                                  sources=[f.entry_uuid for f in found],
                                                  types=metadata.DOCUMENT_RELATIONSHIPS):
            relations.setdefault(association.source_uuid, []).append(
                Relation(association.association_type, association.target_uuid))
    subjects = {pid: subject_of_cx(pid, base) for pid in {f.patient_id for f in found if f.patient_id}}
    return [document_reference(entry_uuid=f.entry_uuid, ebrim=f.ebrim, base=base,
                               subject=subjects.get(f.patient_id), relations=relations.get(f.entry_uuid, ()))
            for f in found]


def patient_of(search: Search) -> str | None:
    """The one patient (CX) the search is about; None for a Patient reference nobody has.

    ITI TF-2 3.67.4.1.2.1: patient or patient.identifier is required, as ITI-18's PatientId.
    """
    if not search.has("patient") and not search.has("patient.identifier"):
        raise bad_request("patient or patient.identifier is required (MHD ITI TF-2 3.67.4.1.2.1)",
                          expression="patient")
    asked = {cx_of_token(t, expression="patient.identifier")
             for group in search.tokens("patient.identifier") for t in group}
    known = True
    for group in search.references("patient"):
        for reference in group:
            ids = enterprise_ids_of_reference(reference)
            known = known and bool(ids)
            asked.update(ids[:1])
    if len(asked) > 1:
        raise bad_request("a search is about one patient; these name several", code="not-supported",
                          expression="patient")
    return next(iter(asked)) if asked and known else None


def document_filter(search: Search, *, patient_id: str) -> DocumentFilter:
    f = DocumentFilter(patient_id=patient_id, statuses=statuses(search))
    f.entry_uuids, f.unique_ids = identifiers(search)
    for name, prefix in _COLUMN_CODES.items():
        groups = search.tokens(name)
        if len(groups) > 1:
            raise bad_request(f"{name} holds one code: give its values once, comma-separated",
                              code="not-supported", expression=name)
        if groups:
            f.codes[prefix] = code_matches(groups[0])
    for name, kind in _CODE_LISTS.items():
        if search.has(name):
            f.code_lists[kind] = [code_matches(group) for group in search.tokens(name)]
    creation = time_range(search, "date")
    if creation != (None, None):
        f.times["creation_time"] = creation
    # ITI TF-2 3.67.4.1.2.1: a period matches the documents whose service period overlaps it.
    low, high = time_range(search, "period")
    if low is not None:
        f.times["service_stop_time"] = (low, None)
    if high is not None:
        f.times["service_start_time"] = (None, high)
    patterns = author_patterns(search, "author")
    if patterns is not None:
        f.author_persons = patterns
    if search.has("related"):
        f.reference_ids = [[cxi for value in group for cxi in reference_ids(value)]
                           for group in _related(search)]
    return f


def statuses(search: Search, *, default: Sequence[str] = (codes.APPROVED, codes.DEPRECATED)) -> list[str]:
    """ITI TF-2 3.67.4.1.2.1 status: current Approved, superseded Deprecated; every status when absent."""
    chosen = list(default)
    for group in search.tokens("status"):
        named = {codes.availability_of_status(t.code) for t in group}
        chosen = [s for s in chosen if s in named]
    return chosen


def identifiers(search: Search) -> tuple[list[str] | None, list[str] | None]:
    """`_id` and `identifier` as entryUUIDs and uniqueIds (masterIdentifier), groups ANDed."""
    uuids: list[str] | None = None
    unique_ids: list[str] | None = None
    for group in search.tokens("_id"):
        uuids = _within(uuids, [codes.entry_uuid_of_id(t.code) for t in group])
    for group in search.tokens("identifier"):
        by_uuid = [t.code for t in group if t.code.startswith("urn:uuid:")]
        by_unique_id = [codes.unique_id_of_uri(t.code) for t in group if not t.code.startswith("urn:uuid:")]
        if by_uuid and by_unique_id:
            raise bad_request("identifier: give entryUUIDs and uniqueIds in separate parameters",
                              code="not-supported", expression="identifier")
        if by_uuid:
            uuids = _within(uuids, by_uuid)
        else:
            unique_ids = _within(unique_ids, by_unique_id)
    return uuids, unique_ids


def _within(current: list[str] | None, values: list[str]) -> list[str]:
    return values if current is None else [v for v in current if v in values]


def code_matches(tokens: Sequence[Token]) -> list[CodeMatch]:
    """Tokens as (code, codingScheme); a token without a system matches any scheme."""
    return [(t.code, codes.scheme_of_system(t.system or "")) for t in tokens]


def time_range(search: Search, name: str) -> TimeRange:
    """A date parameter's ranges ANDed into one, as 14-digit DTMs (low inclusive, high exclusive)."""
    low: str | None = None
    high: str | None = None
    for group in search.dates(name):
        if len(group) != 1:
            raise bad_request(f"{name}: give one date per parameter; repeat it for a range",
                              code="not-supported", expression=name)
        start, stop = DateRange.dtm(group[0])
        low = start if low is None or (start is not None and start > low) else low
        high = stop if high is None or (stop is not None and stop < high) else high
    return low, high


def author_patterns(search: Search, prefix: str) -> list[str] | None:
    """`author.family` and `author.given` as authorPerson LIKE patterns on the XCN
    (`id^family^given^...`, ITI TF-2a 3.18.4.1.2.3.7.1), ORed: family and given together match
    one author. A string matches the start of the name, as FHIR R4 search.html 3.1.1.5.13."""
    families, givens = search.strings(f"{prefix}.family"), search.strings(f"{prefix}.given")
    if not families and not givens:
        return None
    if len(families) > 1 or len(givens) > 1:
        raise bad_request(f"{prefix}.family and {prefix}.given: give each once, comma-separated",
                          code="not-supported", expression=prefix)

    def start(value: str, contains: bool) -> str:
        return ("%" if contains else "") + value.replace("%", "").replace("_", "") + "%"

    family_parts = [start(v.value, v.contains) for v in families[0]] if families else ["%"]
    given_parts = [start(v.value, v.contains) for v in givens[0]] if givens else ["%"]
    return [f"%^{f}^{g}" for f in family_parts for g in given_parts]


def _related(search: Search) -> list[list[Token]]:
    return [[Token(*v.split("|", 1)) if "|" in v else Token(None, v) for v in value.split(",") if v]
            for _, value in search.raw("related")]


def reference_ids(token: Token) -> list[str]:
    """ITI TF-3 4.2.3.2.28: a related identifier `urn:oid:<authority>|<id>` as the CXi values
    stored for it, with each reference ID type; without a system, the CXi as given."""
    if not token.system:
        return [token.code]
    plain = f"{token.code}^^^&{codes.scheme_of_system(token.system)}&ISO"
    return [plain, *(f"{plain}^{kind}" for kind in _REFERENCE_ID_TYPES)]
