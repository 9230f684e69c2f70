"""The HTTP edge of SOAP: one view per endpoint reads the request, calls the route's handler, and
writes the response or the fault. `?wsdl` serves the endpoint's WSDL.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
    UnreadablePostError,
)
from django.http.response import HttpResponseBase
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from python_multipart.multipart import parse_options_header

from soap import faults, mtom
from soap.envelope import build_envelope, read_envelope
from soap.messages import SoapRequest, SoapResponse
from soap.wsdl import SCHEMA_DIR, wsdl_document
from soap.xml import XmlRejected, parse_xml, serialize

logger = logging.getLogger(__name__)

Handler = Callable[[SoapRequest], SoapResponse]


def _limits() -> mtom.Limits:
    return mtom.Limits(
        max_request_bytes=settings.SOAP_MAX_REQUEST_BYTES,
        max_envelope_bytes=settings.SOAP_MAX_ENVELOPE_BYTES,
        max_part_bytes=settings.SOAP_MAX_PART_BYTES,
        max_parts=settings.SOAP_MAX_PARTS,
    )


@cache
def _handler(dotted: str) -> Handler:
    return cast(Handler, import_string(dotted))


@method_decorator(csrf_exempt, name="dispatch")
class SoapView(View):
    """One SOAP 1.2 endpoint: its routes map each wsa:Action to a handler."""

    endpoint: Any = None  # config.routes.SoapEndpoint
    routes: dict[str, Any] = {}  # wsa:Action -> config.routes.SoapRoute
    # Told of every fault this view answers with, to audit it; set by config/urls.py.
    on_fault: Callable[[HttpRequest, Any, faults.SoapFault, str], None] | None = None
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        if "wsdl" in {key.lower() for key in request.GET}:
            return HttpResponse(wsdl_document(self.endpoint.wsdl, request),
                                content_type="text/xml; charset=utf-8")
        return HttpResponse(f"SOAP 1.2 endpoint; its WSDL is at {request.path}?wsdl\n",
                            content_type="text/plain")

    def post(self, request: HttpRequest) -> HttpResponseBase:
        # The request's folder is only made when something is written to it: MTOM parts as they
        # stream in, or inline base64 a handler decodes (SoapRequest.binary).
        folder = settings.SOAP_TEMP_DIR / f"req-{uuid.uuid4().hex}"
        if (request.content_type or "").lower() == "multipart/related":
            folder.mkdir(mode=0o700, parents=True)
        relates_to = None
        action = ""
        response: HttpResponseBase
        try:
            try:
                soap_request = read_request(request, endpoint=self.endpoint.name, folder=folder)
            except (TimeoutError, UnreadablePostError):
                # The web worker cut off a body arriving below its minimum rate
                # (config/gunicorn_worker.py), read raw when chunked and through Django
                # otherwise: the client's doing, not the node's.
                raise faults.sender("The request arrived too slowly.", http_status=408) from None
            relates_to = soap_request.addressing.message_id
            action = soap_request.addressing.action
            route = self.routes.get(soap_request.addressing.action)
            if route is None or not _enabled(route):
                raise faults.action_not_supported(soap_request.addressing.action)
            response = render(_handler(route.handler)(soap_request), relates_to=relates_to,
                              as_mtom=soap_request.mtom)
        except faults.SoapFault as fault:
            self._fault(request, fault, action)
            response = fault_response(fault, relates_to=relates_to)
        except Exception:
            # The client learns only that the node failed; the log has the traceback.
            logger.exception("SOAP handler failed at endpoint %s", self.endpoint.name)
            failure = faults.SoapFault("Receiver", "The node could not process the request.")
            self._fault(request, failure, action)
            response = fault_response(failure, relates_to=relates_to)
        if response.streaming:
            # The request's files live until the response, which may stream them, has been sent.
            cast(Any, response)._resource_closers.append(
                lambda: shutil.rmtree(folder, ignore_errors=True))
        else:
            shutil.rmtree(folder, ignore_errors=True)
        return response


    def _fault(self, request: HttpRequest, fault: faults.SoapFault, action: str) -> None:
        if self.on_fault is None:
            return
        try:
            self.on_fault(request, self.endpoint, fault, action)
        except Exception:  # the fault still goes back; the audit failure is logged
            logger.exception("auditing a SOAP fault failed at endpoint %s", self.endpoint.name)


def _enabled(route: Any) -> bool:
    return route.endpoint != "diagnostics" or settings.SOAP_ECHO_ENABLED


def read_request(request: HttpRequest, *, endpoint: str, folder: Path) -> SoapRequest:
    content_type = request.META.get("CONTENT_TYPE", "")
    media, _params = parse_options_header(content_type)
    length = _content_length(request)
    limits = _limits()
    stream = _body_stream(request, length)
    if media == b"multipart/related":
        message = mtom.read_mtom(stream, content_type, limits=limits, folder=folder,
                                 content_length=length)
        root_bytes, attachments, is_mtom = message.root, message.attachments, True
    elif media in (b"application/soap+xml", b"text/xml"):
        if length is not None and length > limits.max_envelope_bytes:
            raise mtom.too_large("The SOAP envelope", limits.max_envelope_bytes)
        root_bytes, attachments, is_mtom = _read_all(stream, length, limits.max_envelope_bytes), {}, False
    else:
        shown = media.decode("latin-1")[:80] or "none"
        raise faults.sender(f"Content-Type {shown!r} is not SOAP: use application/soap+xml, or "
                            'multipart/related; type="application/xop+xml" for MTOM.',
                            http_status=415)
    try:
        root = parse_xml(root_bytes)
    except XmlRejected as exc:
        raise faults.sender(str(exc)) from None
    envelope = read_envelope(root)
    mtom.check_includes(envelope.root, attachments)
    return SoapRequest(endpoint=endpoint, addressing=envelope.addressing, body=envelope.body,
                       attachments=attachments, folder=folder,
                       remote_addr=request.META.get("REMOTE_ADDR", ""), mtom=is_mtom,
                       organisation_code=getattr(request, "organisation_code", ""))


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        length = int(raw)
    except ValueError:
        raise faults.sender("Content-Length is not a number.") from None
    if length > settings.SOAP_MAX_REQUEST_BYTES:
        raise mtom.too_large("The request", settings.SOAP_MAX_REQUEST_BYTES)
    return length


def _body_stream(request: HttpRequest, length: int | None) -> BinaryIO:
    # Django reads a body without Content-Length as empty; a chunked one is read from the
    # server's own input stream, which undoes the chunking.
    if length is None:
        return cast(BinaryIO, request.META["wsgi.input"])
    return cast(BinaryIO, request)


def _read_all(stream: BinaryIO, length: int | None, limit: int) -> bytes:
    data = bytearray()
    remaining = length
    while remaining is None or remaining > 0:
        chunk = stream.read(mtom.CHUNK if remaining is None else min(mtom.CHUNK, remaining))
        if not chunk:
            break
        data += chunk
        if remaining is not None:
            remaining -= len(chunk)
        if len(data) > limit:
            raise mtom.too_large("The SOAP envelope", limit)
    return bytes(data)


def render(response: SoapResponse, *, relates_to: str | None, as_mtom: bool) -> HttpResponseBase:
    """The response envelope; MTOM when it carries attachments or the request came as MTOM."""
    envelope = build_envelope(action=response.action, body=response.body, relates_to=relates_to)
    xml = serialize(envelope)
    if not response.attachments and not as_mtom:
        return HttpResponse(xml, content_type=_soap_content_type(response.action))
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    root_cid = mtom.new_content_id()
    streamed = StreamingHttpResponse(
        mtom.write_mtom(xml, response.attachments, boundary=boundary, root_cid=root_cid),
        content_type=mtom.content_type(boundary, root_cid))
    streamed["Content-Length"] = str(
        mtom.mtom_length(xml, response.attachments, boundary=boundary, root_cid=root_cid))
    return streamed


def _soap_content_type(action: str) -> str:
    # SOAP 1.2 Part 2, 7.1.4 / RFC 3902: the action travels as a media-type parameter too.
    return f'application/soap+xml; charset=utf-8; action="{action}"'


def fault_response(fault: faults.SoapFault, *, relates_to: str | None) -> HttpResponse:
    response = HttpResponse(serialize(faults.fault_envelope(fault, relates_to=relates_to)),
                            status=fault.status,
                            content_type="application/soap+xml; charset=utf-8")
    if fault.status in (408, 413):
        # The rest of a slow or oversized body is not read: the connection cannot be reused.
        response["Connection"] = "close"
    return response


def schema_file(request: HttpRequest, name: str) -> FileResponse:
    """The XML schemas the served WSDLs import."""
    path = (SCHEMA_DIR / name).resolve()
    if not path.is_relative_to(SCHEMA_DIR) or not path.is_file():
        raise Http404("no such schema")
    return FileResponse(path.open("rb"), content_type="text/xml; charset=utf-8")
