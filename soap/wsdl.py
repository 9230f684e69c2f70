"""Serving WSDLs: the endpoint's own address and its schemas' URLs written into the document."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from lxml import etree

from soap.xml import parse_xml, serialize

SCHEMA_DIR = (Path(__file__).parent / "schemas").resolve()
_WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
_XSD = "http://www.w3.org/2001/XMLSchema"


def wsdl_document(relative_path: str, request: HttpRequest) -> bytes:
    base = f"{request.scheme}://{request.get_host()}"
    return _render(relative_path, base, request.path)


@lru_cache(maxsize=64)
def _render(relative_path: str, base: str, path: str) -> bytes:
    root = parse_xml((Path(settings.BASE_DIR) / relative_path).read_bytes())
    for address in root.iter(f"{{{_WSDL_SOAP12}}}address"):
        address.set("location", base + path)
    for node in root.iter(f"{{{_XSD}}}import", f"{{{_XSD}}}include"):
        location = node.get("schemaLocation", "")
        if location.startswith("schema/"):
            node.set("schemaLocation", f"{base}/{location}")
    return serialize(etree.ElementTree(root).getroot())
