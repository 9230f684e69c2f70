"""ebRIM wire: an lcm:RemoveObjectsRequest (ITI-62) read into the entryUUIDs it names."""

from __future__ import annotations

from lxml import etree

from registry.ebrim.namespaces import LCM, RIM

R = f"{{{RIM}}}"
DELETE_ALL = "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll"


class NotARemoval(ValueError):
    """The body is not a RemoveObjectsRequest ITI-62 allows: a Sender fault."""


def read_removal(body: etree._Element) -> list[str]:
    """ITI TF-2b 3.62.4.1.2: the ids of the rim:ObjectRefList; no AdhocQuery, no other deletionScope."""
    if body.tag != f"{{{LCM}}}RemoveObjectsRequest":
        raise NotARemoval(f"expected lcm:RemoveObjectsRequest, got {etree.QName(body.tag).localname}")
    if body.find(R + "AdhocQuery") is not None:
        raise NotARemoval("objects are named in rim:ObjectRefList, not by rim:AdhocQuery")
    if body.get("deletionScope", DELETE_ALL) != DELETE_ALL:
        raise NotARemoval("deletionScope is DeleteAll or absent")
    references = body.find(R + "ObjectRefList")
    ids = [ref.get("id", "") for ref in references.findall(R + "ObjectRef")] if references is not None else []
    if not ids or not all(ids):
        raise NotARemoval("lcm:RemoveObjectsRequest names no object in rim:ObjectRefList")
    return ids
