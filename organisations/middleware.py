"""HTTPS edge of ITI-19: the organisation behind a request's client certificate, or 403."""

from __future__ import annotations

import ssl
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from organisations.authentication import peer_organisation


class ClientCertificateMiddleware:
    """Sets `request.organisation` and `request.organisation_code` from the TLS client certificate.

    gunicorn's `webtls` process has already refused a missing certificate or one from another CA
    in the handshake (ITI TF-2 3.19); a certificate the exchange's CA issued that no active
    organisation holds is refused here, with a security alert. Plain HTTP passes unchanged,
    with no organisation.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organisation = None  # type: ignore[attr-defined]
        request.organisation_code = ""  # type: ignore[attr-defined]
        sock = request.META.get("gunicorn.socket")
        if isinstance(sock, ssl.SSLSocket):
            peer_host = request.META.get("REMOTE_ADDR", "")
            organisation = peer_organisation(protocol="HTTPS", peer_host=peer_host,
                                             der=sock.getpeercert(binary_form=True))
            if organisation is None:
                return HttpResponse("403 Forbidden: this client certificate belongs to no "
                                    "organisation of the exchange\n", status=403,
                                    content_type="text/plain; charset=utf-8")
            request.organisation = organisation  # type: ignore[attr-defined]
            request.organisation_code = organisation.code  # type: ignore[attr-defined]
        return self.get_response(request)
