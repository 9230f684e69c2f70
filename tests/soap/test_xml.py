"""The hardened parser: what it refuses, and that ordinary SOAP passes."""

from pathlib import Path

import pytest

from soap.xml import XmlRejected, parse_xml

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""

LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><r>&lol4;</r>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>"""

XINCLUDE = b"""<r xmlns:xi="http://www.w3.org/2001/XInclude">
<xi:include href="file:///etc/passwd" parse="text"/></r>"""


def test_an_external_entity_is_refused() -> None:
    with pytest.raises(XmlRejected, match="DTD"):
        parse_xml(XXE)


def test_a_billion_laughs_document_is_refused() -> None:
    with pytest.raises(XmlRejected):
        parse_xml(LAUGHS)


def test_an_external_dtd_is_refused_without_being_fetched() -> None:
    with pytest.raises(XmlRejected, match="network"):
        parse_xml(EXTERNAL_DTD)


def test_an_xinclude_is_left_unprocessed() -> None:
    root = parse_xml(XINCLUDE)
    assert "root:" not in str(root.xpath("string()"))
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_nesting_300_deep_is_refused() -> None:
    with pytest.raises(XmlRejected, match="well-formed"):
        parse_xml(b"<a>" * 300 + b"</a>" * 300)


def test_a_50_mb_text_node_is_refused() -> None:
    with pytest.raises(XmlRejected):
        parse_xml(b"<a>" + b"x" * (50 * 1024 * 1024) + b"</a>")


def test_text_that_is_not_xml_is_refused() -> None:
    with pytest.raises(XmlRejected, match="well-formed"):
        parse_xml(b"this is { not: xml }")


def test_an_ordinary_envelope_parses() -> None:
    root = parse_xml(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
                     b"<s:Body><x/></s:Body></s:Envelope>")
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"


def test_inline_base64_content_is_decoded_to_a_file(tmp_path: Path) -> None:
    from soap.mtom import decode_inline

    attachment = decode_inline("aGVs\nbG8g\r\nd29y bGQ=", folder=tmp_path)
    assert attachment.path.read_bytes() == b"hello world"
    assert attachment.size == 11


def test_inline_content_that_is_not_base64_is_a_sender_fault(tmp_path: Path) -> None:
    from soap.faults import SoapFault
    from soap.mtom import decode_inline

    with pytest.raises(SoapFault) as raised:
        decode_inline("not*base64!", folder=tmp_path)
    assert raised.value.code == "Sender"
    assert list(tmp_path.iterdir()) == []
