"""The client certificate middleware on plain HTTP: requests pass with no organisation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from organisations.middleware import ClientCertificateMiddleware


def test_a_plain_http_request_passes_unchanged_with_no_organisation(rf: RequestFactory) -> None:
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse("ok")

    response = ClientCertificateMiddleware(view)(rf.get("/xds/registry"))

    assert response.status_code == 200
    assert getattr(seen[0], "organisation", "unset") is None
    assert getattr(seen[0], "organisation_code", "unset") == ""
