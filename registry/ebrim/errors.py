"""rs:RegistryErrorList and the response status it implies (ebRS 3.0, ITI TF-3 4.2.4)."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from registry.ebrim.namespaces import FAILURE, PARTIAL_SUCCESS, RS, SUCCESS
from registry.errors import RegistryError


def status_of(errors: Sequence[RegistryError], *, partial: bool = False) -> str:
    """Failure when any error; PartialSuccess where the transaction allows it; else Success
    (warnings alone leave it Success)."""
    if any(e.is_error for e in errors):
        return PARTIAL_SUCCESS if partial else FAILURE
    return SUCCESS


def error_list(parent: etree._Element, errors: Sequence[RegistryError]) -> etree._Element | None:
    """Append an rs:RegistryErrorList with one rs:RegistryError each; none when no errors."""
    if not errors:
        return None
    listing = etree.SubElement(parent, f"{{{RS}}}RegistryErrorList")
    worst = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
    if all(not e.is_error for e in errors):
        worst = errors[0].severity
    listing.set("highestSeverity", worst)
    for item in errors:
        element = etree.SubElement(listing, f"{{{RS}}}RegistryError")
        element.set("errorCode", item.code)
        element.set("codeContext", item.context)
        element.set("severity", item.severity)
        if item.location:
            element.set("location", item.location)
    return listing
