"""The diagnostic echo: a SOAP round trip with attachments, for benchmarks and tests."""

import copy

from lxml import etree

from soap.messages import SoapRequest, SoapResponse
from soap.mtom import OutgoingAttachment, cid_of, includes

NS = "urn:hienode:diagnostics"


def echo(request: SoapRequest) -> SoapResponse:
    """Return the request's body as EchoResponse, with every attachment it referenced."""
    body = copy.deepcopy(request.body)
    body.tag = etree.QName(NS, "EchoResponse").text
    attachments = []
    for include in includes(body):
        part = request.attachments[cid_of(include)]
        attachments.append(OutgoingAttachment(part.content_id, part.content_type, part.size, part.open))
    return SoapResponse(action="urn:hienode:diagnostics:EchoResponse", body=body,
                        attachments=attachments)
