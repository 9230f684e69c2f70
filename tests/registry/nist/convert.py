"""ebRIM 2.1 metadata of the NIST testkit converted to ebRIM 3.0, as the NIST toolkit does before
sending a Register.b (its `Metadata` class reads 2.1 and writes 3.0).

    rs:SubmitObjectsRequest (registry:xsd:2.1) -> lcm:SubmitObjectsRequest (lcm:3.0)
    rim:LeafRegistryObjectList                 -> rim:RegistryObjectList
    Association associationType="HasMember"    -> urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember
    Association associationType="RPLC" (...)   -> urn:ihe:iti:2007:AssociationType:RPLC (...)
    ExternalIdentifier (no id, no owner)        -> id and registryObject of the object it is in
    Classification (no id)                      -> an id
    children of a RegistryObject                -> in rim.xsd 3.0's order: Slot, Name, Description,
                                                   VersionInfo, Classification, ExternalIdentifier
    ObjectRef                                    -> the same, in the rim:3.0 namespace
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from lxml import etree

from registry.ebrim.namespaces import LCM, RIM

RIM21 = "urn:oasis:names:tc:ebxml-regrep:rim:xsd:2.1"
RS21 = "urn:oasis:names:tc:ebxml-regrep:registry:xsd:2.1"
R = f"{{{RIM}}}"
# ITI TF-3 4.2.2: the short names of ebRIM 2.1 and XDS.a, and the 3.0 URNs they became.
ASSOCIATION_TYPES = {
    "HasMember": "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
    "RPLC": "urn:ihe:iti:2007:AssociationType:RPLC",
    "APND": "urn:ihe:iti:2007:AssociationType:APND",
    "XFRM": "urn:ihe:iti:2007:AssociationType:XFRM",
    "XFRM_RPLC": "urn:ihe:iti:2007:AssociationType:XFRM_RPLC",
    "signs": "urn:ihe:iti:2007:AssociationType:signs",
}
_ORDER = ("Slot", "Name", "Description", "VersionInfo", "Classification", "ExternalIdentifier")
_REGISTRY_OBJECTS = ("ExtrinsicObject", "RegistryPackage", "Association", "Classification",
                     "ExternalIdentifier")


def is_ebrim21(root: etree._Element) -> bool:
    return any(isinstance(e.tag, str) and etree.QName(e).namespace in (RIM21, RS21) for e in root.iter())


def to_ebrim30(root: etree._Element) -> etree._Element:
    """The 3.0 SubmitObjectsRequest of a 2.1 one; a 3.0 request is returned unchanged."""
    if not is_ebrim21(root):
        return root
    request = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
    objects = etree.SubElement(request, R + "RegistryObjectList")
    source = root.find(f"{{{RIM21}}}LeafRegistryObjectList")
    if source is None:
        raise ValueError("an ebRIM 2.1 SubmitObjectsRequest without LeafRegistryObjectList")
    serial = itertools.count(1)
    for child in source:
        if isinstance(child.tag, str):
            objects.append(_element(child, serial))
    for element in objects.iter(R + "ExternalIdentifier"):
        owner = element.getparent()
        if owner is not None and not element.get("registryObject"):
            element.set("registryObject", owner.get("id", ""))
    return request


def _element(old: etree._Element, serial: Iterator[int]) -> etree._Element:
    name = etree.QName(old).localname
    new = etree.Element(R + name)
    for raw_key, raw_value in old.attrib.items():
        key, value = str(raw_key), str(raw_value)
        if key == "associationType":
            value = ASSOCIATION_TYPES.get(value, value)
        new.set(key, value)
    if name in ("Classification", "ExternalIdentifier", "Association") and not new.get("id"):
        # rim.xsd 3.0: every Identifiable has an id; a symbolic one, as the toolkit gives.
        new.set("id", f"ID_{name}_{next(serial)}")
    if old.text and old.text.strip():
        new.text = old.text.strip()
    children = [_element(c, serial) for c in old if isinstance(c.tag, str)]
    if name in _REGISTRY_OBJECTS:
        # ebRIM 2.1 puts Name before Slot; an empty Description is dropped (3.0 wants a string).
        children = [c for c in children if not (etree.QName(c).localname == "Description" and len(c) == 0)]
        children.sort(key=lambda c: _rank(etree.QName(c).localname))
    new.extend(children)
    return new


def _rank(localname: str) -> int:
    return _ORDER.index(localname) if localname in _ORDER else len(_ORDER)
