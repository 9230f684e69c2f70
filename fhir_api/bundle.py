"""Search results as a Bundle of type searchset, with paging links (FHIR R4 http.html 3.1.0.11,
search.html 3.1.1.6: `self`, `next`, `previous` carry the search so that a client needs no state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fhir_api.request import FhirRequest
from fhir_api.search import Search


def searchset(request: FhirRequest, search: Search, *, resources: Sequence[dict[str, Any]],
              total: int | None, included: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """One page: `resources` are the matches from `search.offset`, at most `search.count` of them.

    With `total` None the size of the whole result is not known (a page cut short ends it).
    """
    links = [{"relation": "self", "url": page_url(request, search.offset, search.count)}]
    more = (search.offset + len(resources) < total) if total is not None else len(resources) >= search.count
    if more and search.count:
        following = page_url(request, search.offset + search.count, search.count)
        links.append({"relation": "next", "url": following})
    if search.offset > 0:
        links.append({"relation": "previous",
                      "url": page_url(request, max(0, search.offset - search.count), search.count)})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    bundle["entry"] = [_entry(request, r, "match") for r in resources] + \
                      [_entry(request, r, "include") for r in included]
    if not bundle["entry"]:
        del bundle["entry"]
    return bundle


def full_url(request: FhirRequest, resource: dict[str, Any]) -> str:
    return f"{request.base}/{resource['resourceType']}/{resource['id']}"


def page_url(request: FhirRequest, offset: int, count: int) -> str:
    kept = [(k, v) for k, v in request.params if k not in ("_offset", "_count")]
    kept += [("_count", str(count)), ("_offset", str(offset))]
    path = f"{request.base}/{request.resource_type}" if request.resource_type else request.base
    return f"{path}?{urlencode(kept)}"


def _entry(request: FhirRequest, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"resource": resource, "search": {"mode": mode}}
    if resource.get("id"):
        entry = {"fullUrl": full_url(request, resource), **entry}
    return entry
