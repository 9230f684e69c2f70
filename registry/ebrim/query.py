"""query:AdhocQueryRequest in, query:AdhocQueryResponse out (ebRS 3.0 6.3; ITI TF-2a 3.18.4.1.2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from registry import errors
from registry.ebrim.errors import error_list, status_of
from registry.ebrim.namespaces import QUERY, RIM
from registry.queries.params import Slots, Value
from registry.selectors import Found
from soap import faults

LEAF_CLASS, OBJECT_REF = "LeafClass", "ObjectRef"
# ITI TF-2a 3.18.4.1.2.3.6: 'quoted strings' (a quote doubled inside), bare numbers, ( , ) lists.
_TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'|([^\s(),']+)|([(),]))")
_TRUSTED = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


@dataclass(frozen=True)
class QueryRequest:
    query_id: str
    return_type: str  # LeafClass or ObjectRef
    slots: Slots
    home_community_id: str  # AdhocQuery/@home (ITI TF-2a 3.18.4.1.2.3.8)


def read_query(body: etree._Element) -> QueryRequest:
    """The stored query a query:AdhocQueryRequest asks for; RegistryErrors for bad slot values."""
    if body.tag != f"{{{QUERY}}}AdhocQueryRequest":
        raise faults.sender(f"The body holds {body.tag}, not a query:AdhocQueryRequest.")
    option = body.find(f"{{{QUERY}}}ResponseOption")
    adhoc = body.find(f"{{{RIM}}}AdhocQuery")
    if option is None or adhoc is None:
        raise faults.sender("A query:AdhocQueryRequest holds query:ResponseOption and rim:AdhocQuery.")
    return_type = option.get("returnType", "RegistryObject")
    if return_type not in (LEAF_CLASS, OBJECT_REF):
        # ITI TF-2a 3.18.4.1.2.2: a stored query returns LeafClass or ObjectRef.
        raise errors.error(errors.REGISTRY_ERROR, f"returnType {return_type!r} is neither LeafClass "
                           "nor ObjectRef.", "ResponseOption")
    slots: Slots = {}
    problems: list[errors.RegistryError] = []
    for slot in adhoc.iterfind(f"{{{RIM}}}Slot"):
        name = slot.get("name", "")
        texts = [v.text or "" for v in slot.iterfind(f"{{{RIM}}}ValueList/{{{RIM}}}Value")]
        try:
            slots.setdefault(name, []).append(parse_values(texts))
        except ValueError as exc:
            problems.append(errors.RegistryError(errors.REGISTRY_ERROR, f"Parameter {name}: {exc}", name))
    if problems:
        raise errors.RegistryErrors(problems)
    return QueryRequest(query_id=adhoc.get("id", ""), return_type=return_type, slots=slots,
                        home_community_id=adhoc.get("home", ""))


def parse_values(texts: Sequence[str]) -> list[Value]:
    """The values of one Slot: its rim:Value texts may each hold a list, or a part of one."""
    found: list[Value] = []
    for text in texts:
        position, text = 0, text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise ValueError(f"cannot read {text[position:]!r}; quote strings, as in 'value'.")
            position = match.end()
            quoted, bare, _punctuation = match.groups()
            if quoted is not None:
                found.append(Value(quoted.replace("''", "'"), quoted=True))
            elif bare is not None:
                found.append(Value(bare, quoted=False))
    return found


def query_response(found: Sequence[Found], *, return_type: str,
                   problems: Sequence[errors.RegistryError] = ()) -> etree._Element:
    """The query:AdhocQueryResponse: the stored ebRIM objects (LeafClass) or rim:ObjectRefs."""
    response = etree.Element(f"{{{QUERY}}}AdhocQueryResponse", nsmap={"query": QUERY, "rim": RIM})
    response.set("status", status_of(problems))
    error_list(response, problems)
    listing = etree.SubElement(response, f"{{{RIM}}}RegistryObjectList")
    for item in found:
        if return_type == LEAF_CLASS:
            listing.append(etree.fromstring(item.ebrim.encode(), _TRUSTED))
        else:
            ref = etree.SubElement(listing, f"{{{RIM}}}ObjectRef", id=item.entry_uuid)
            if item.home_community_id:
                ref.set("home", item.home_community_id)
    return response
