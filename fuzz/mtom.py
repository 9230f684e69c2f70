"""MTOM/XOP: a SOAP request's body as the SOAP edge reads it (soap.views.read_request): the
multipart/related reader streaming parts to files, the hardened XML parser on the root part, the
SOAP 1.2 envelope and WS-Addressing headers, and every xop:Include matched to a part.

Inputs are MTOM messages built part by part with random boundaries, headers (huge ones too),
Content-IDs, transfer encodings, nested multiparts and cuts, then mutated as bytes; each is sent
once with its Content-Length and once chunked (no length), as a WSGI server passes both.

Property: a SoapRequest, or a SoapFault (the SOAP layer's one refusal, answered as a fault);
never another exception, and no file left outside the request's own folder.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

from django.test import RequestFactory, override_settings
from hypothesis import strategies as st

from fuzz.mutate import huge, junk, mutated
from soap.faults import SoapFault
from soap.views import read_request

ENVELOPE = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Header>'
    '<wsa:Action s:mustUnderstand="true">urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b</wsa:Action>'
    "<wsa:MessageID>urn:uuid:0b0b0b0b-0000-4000-8000-000000000000</wsa:MessageID></s:Header>"
    '<s:Body><d:Document xmlns:d="urn:ihe:iti:xds-b:2007">{includes}</d:Document></s:Body></s:Envelope>'
)
INCLUDE = '<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:{cid}"/>'
# Small limits, so that the fuzzer reaches every "too large" refusal with small inputs.
LIMITS = {"SOAP_MAX_REQUEST_BYTES": 2 * 1024 * 1024, "SOAP_MAX_ENVELOPE_BYTES": 256 * 1024,
          "SOAP_MAX_PART_BYTES": 512 * 1024, "SOAP_MAX_PARTS": 8}

_token = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S"]), min_size=0, max_size=40)
_boundary = st.one_of(st.just("MIMEBoundary_0123456789abcdef"), _token,
                      st.sampled_from(["", "--", " ", "a b", '"', "\r\n", "x" * 100]))
_cid = st.one_of(st.sampled_from(["doc1@client", "root@client", "", "<>", "a%20b", "../../etc/passwd",
                                  "x" * 200, "%", "doc1@client"]), _token)


@st.composite
def part(draw: st.DrawFn, *, cid: str, body: bytes, content_type: str) -> bytes:
    headers = [f"Content-Type: {content_type}", f"Content-ID: <{cid}>",
               "Content-Transfer-Encoding: " + draw(st.sampled_from(
                   ["binary"] * 6 + ["8bit", "base64", "quoted-printable", "BINARY", ""]))]
    if draw(st.integers(0, 3)) == 0:
        headers = draw(st.permutations(headers))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 3]))):
        headers.append(draw(st.sampled_from(["X-Junk: 1", "Content-ID: <again@client>", ":", "no colon",
                                             "Content-Type:", "Content-Disposition: form-data; name=x"])))
    if draw(st.integers(0, 20)) == 0:
        headers.append("X-Huge: " + draw(huge(b"h")).decode())
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


@st.composite
def message(draw: st.DrawFn) -> tuple[str, bytes]:
    # One message in four is hostile in its framing too; the rest reach the parts and the XML.
    hostile = draw(st.integers(0, 3)) == 0
    boundary = draw(_boundary) if hostile else "MIMEBoundary_0123456789abcdef"
    cids = draw(st.lists(_cid, max_size=4))
    root_cid = draw(st.sampled_from(["root@client", *cids]) if cids else st.just("root@client"))
    included = draw(st.lists(st.sampled_from(cids), max_size=4)) if cids else []
    root = ENVELOPE.format(includes="".join(INCLUDE.format(cid=c) for c in included)).encode()
    if draw(st.integers(0, 3)) == 0:
        root = draw(mutated(root, max_edits=2))
    parts = [draw(part(cid=root_cid, body=root,
                       content_type='application/xop+xml; charset=UTF-8; type="application/soap+xml"'))]
    for cid in cids:
        inner = draw(st.one_of(st.binary(max_size=200), st.binary(max_size=200), st.binary(max_size=200),
                               huge(b"\x00"), st.just(b"--" + boundary.encode())))
        if draw(st.integers(0, 8)) == 0:  # a multipart inside a part: read as opaque bytes
            _, nested = draw(message())
            inner = nested
        parts.append(draw(part(cid=cid, body=inner, content_type="application/octet-stream")))
    dash = b"--" + boundary.encode("latin-1", "replace")
    body = b"".join(dash + b"\r\n" + p + b"\r\n" for p in parts) + dash + b"--\r\n"
    valid = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
             f'start="<{root_cid}>"; start-info="application/soap+xml"')
    if not hostile:
        return valid, body
    # python-multipart refuses a preamble (RFC 2046 5.1.1 allows one): a clean fault, tried here.
    body = draw(st.sampled_from([b"", b"preamble\r\n"])) + body + draw(st.one_of(st.just(b""), junk()))
    body = draw(mutated(body))
    start = draw(st.sampled_from([f' start="<{root_cid}>"', "", ' start="<nowhere@client>"', ' start=""']))
    media = draw(st.sampled_from(['type="application/xop+xml"', "", 'type="text/xml"']))
    content_type = draw(st.one_of(
        st.just(f'multipart/related; {media}; boundary="{boundary}";{start} '
                'start-info="application/soap+xml"'),
        st.just(f"multipart/related; boundary={boundary}"),
        _token.map(lambda junk_type: "multipart/related; " + junk_type),
        st.sampled_from(["multipart/related", "application/soap+xml", "text/xml; charset=latin-1", ""])))
    return content_type, body


def strategy() -> st.SearchStrategy[tuple[str, bytes]]:
    return message()


_factory = RequestFactory()


def check(example: tuple[str, bytes]) -> None:
    content_type, body = example
    with override_settings(**LIMITS):
        for chunked in (False, True):
            with tempfile.TemporaryDirectory(prefix="fuzz-mtom-") as scratch:
                folder = Path(scratch) / "req"
                folder.mkdir()
                request = _factory.generic("POST", "/xds/repository", data=body, content_type=content_type)
                if chunked:
                    request.META.pop("CONTENT_LENGTH", None)
                    request.META["wsgi.input"] = io.BytesIO(body)
                with contextlib.suppress(SoapFault):  # the SOAP layer's one refusal
                    read_request(request, endpoint="repository", folder=folder)
                left = [p.name for p in Path(scratch).iterdir() if p != folder]
                assert not left, f"files written outside the request's folder: {left}"
                shutil.rmtree(folder, ignore_errors=True)
