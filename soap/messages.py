"""What a handler receives and returns: plain objects, with the wire already read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from soap import faults
from soap.envelope import Addressing
from soap.mtom import Attachment, OutgoingAttachment, cid_of, decode_inline, includes


@dataclass
class SoapRequest:
    endpoint: str
    addressing: Addressing
    body: etree._Element  # the first element child of env:Body
    attachments: dict[str, Attachment]
    folder: Path  # the request's temporary folder, made on first use, removed after the response
    remote_addr: str
    mtom: bool
    # The organisation of the client certificate (ITI-19); empty on plain HTTP.
    organisation_code: str = ""

    def binary(self, element: etree._Element) -> Attachment:
        """The bytes an element carries: an xop:Include's part, or its inline base64 text."""
        found = includes(element)
        if found:
            cid = cid_of(found[0])
            if cid not in self.attachments:
                raise faults.sender(f"xop:Include refers to a missing MIME part <{cid}>.")
            return self.attachments[cid]
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # made on first use
        return decode_inline(element.text or "", folder=self.folder)


@dataclass
class SoapResponse:
    action: str
    body: etree._Element
    attachments: list[OutgoingAttachment] = field(default_factory=list)
