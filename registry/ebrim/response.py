"""ebRIM wire: rs:RegistryResponse, the answer of ITI-42 (ebRS 3.0, ITI TF-2b 3.42.4.2)."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from registry.ebrim.errors import error_list, status_of
from registry.ebrim.namespaces import RS
from registry.errors import RegistryError


def registry_response(errors: Sequence[RegistryError] = ()) -> etree._Element:
    """Success, or Failure with every error; warnings alone ride along a Success."""
    response = etree.Element(f"{{{RS}}}RegistryResponse", nsmap={"rs": RS})
    response.set("status", status_of(errors))
    error_list(response, errors)
    return response
