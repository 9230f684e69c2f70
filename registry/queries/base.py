"""What every stored query shares: its declaration, the context it runs in, common filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from registry import selectors
from registry.models import STABLE
from registry.queries.params import Param, Params
from registry.selectors import Found

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
# Parameters of several queries (ITI TF-2a 3.18.4.1.2.3.7).
HOME = Param("$homeCommunityId")
METADATA_LEVEL = Param("$MetadataLevel", kind="number")  # ITI TF-2a 3.18.4.1.2.3.5.1
FORMAT_CODE = Param("$XDSDocumentEntryFormatCode", multiple=True, kind="code")
CONFIDENTIALITY_CODE = Param("$XDSDocumentEntryConfidentialityCode", multiple=True, and_or=True,
                             kind="code")
ENTRY_TYPE = Param("$XDSDocumentEntryType", multiple=True)


@dataclass(frozen=True)
class Context:
    leaf: bool  # LeafClass: whole objects; else ObjectRefs
    limit: int  # REGISTRY_MAX_RESULTS


@dataclass(frozen=True)
class StoredQuery:
    query_id: str
    name: str
    params: list[Param]
    run: Callable[[Params, Context], list[Found]]
    exclusive: tuple[tuple[str, ...], ...] = ()  # exactly one of each tuple
    single_patient: bool = False  # Get* queries: XDSResultNotSinglePatient


def content_filters(params: Params) -> selectors.DocumentFilter:
    """$XDSDocumentEntryFormatCode, ConfidentialityCode and Type, as GetAll and the *AndContents
    queries filter the DocumentEntries they return (ITI TF-2a 3.18.4.1.2.3.7.4, .10, .11)."""
    found = selectors.DocumentFilter(object_types=entry_types(params))
    if params.has(FORMAT_CODE.name):
        found.codes["format"] = params.codes(FORMAT_CODE.name)
    if params.has(CONFIDENTIALITY_CODE.name):
        found.code_lists["confidentialityCode"] = params.code_groups(CONFIDENTIALITY_CODE.name)
    return found


def entry_types(params: Params) -> list[str]:
    # ITI TF-2a 3.18.4.1.2.3.6.2: without $XDSDocumentEntryType, stable entries only.
    return params.strings(ENTRY_TYPE.name) or [STABLE]


def uuids(found: Iterable[Found]) -> list[str]:
    return [f.entry_uuid for f in found]


def linking(associations: Sequence[Found], objects: Iterable[Found]) -> list[Found]:
    """The associations between `objects`, and those linking an object to one of them (a
    SubmissionSet's HasMember of a Folder's HasMember)."""
    ids = set(uuids(objects))
    inner = [a for a in associations if a.source_uuid in ids and a.target_uuid in ids]
    inner_ids = set(uuids(inner))
    outer = [a for a in associations if a.source_uuid in ids and a.target_uuid in inner_ids]
    return [a for a in associations if a in inner or a in outer]
