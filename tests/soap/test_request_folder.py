"""A SOAP request's temporary folder exists only once something is written to it."""

from __future__ import annotations

import base64
from pathlib import Path

from lxml import etree

from soap.envelope import Addressing
from soap.messages import SoapRequest


def a_request(folder: Path) -> SoapRequest:
    addressing = Addressing(action="urn:test", message_id="urn:uuid:1", reply_to=None, to=None)
    return SoapRequest(endpoint="repository", addressing=addressing, body=etree.Element("Document"),
                       attachments={}, folder=folder, remote_addr="127.0.0.1", mtom=False)


def test_inline_base64_is_decoded_into_a_folder_made_on_first_use(tmp_path: Path) -> None:
    folder = tmp_path / "soap" / "req-1"
    request = a_request(folder)
    element = etree.Element("Document")
    element.text = base64.b64encode(b"a CT manifest").decode()
    attachment = request.binary(element)
    assert attachment.path.parent == folder and attachment.path.read_bytes() == b"a CT manifest"
    assert folder.stat().st_mode & 0o777 == 0o700
