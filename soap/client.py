"""The zeep client factory: every outbound SOAP call the node makes goes through one seam."""

from __future__ import annotations

import requests
import zeep
from zeep.transports import Transport


def make_client(wsdl_url: str, *, timeout: float = 60, verify: bool | str = True,
                cert: tuple[str, str] | None = None, fetch_imports: bool = False) -> zeep.Client:
    """A zeep client that parses with the same care as the node's own parser.

    Schemas a WSDL imports over HTTP are fetched only when `fetch_imports` says so: the node's
    own calls load WSDLs from files it ships.
    """
    session = requests.Session()
    session.verify = verify
    if cert:
        session.cert = cert
    transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
    settings = zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True,
                             forbid_entities=True, forbid_external=not fetch_imports)
    return zeep.Client(wsdl_url, settings=settings, transport=transport)
