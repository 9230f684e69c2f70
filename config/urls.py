"""URLs: the SOAP endpoints of the routes table, the schemas their WSDLs import, health, admin."""

from django.contrib import admin
from django.urls import include, path, re_path

from audit.edges import soap_fault
from config.routes import SOAP_ENDPOINTS, SOAP_ROUTES
from ops.health import healthz
from soap.views import SoapView, schema_file


def _soap_urls() -> list:
    urls = []
    for endpoint in SOAP_ENDPOINTS:
        routes = {r.action: r for r in SOAP_ROUTES if r.endpoint == endpoint.name}
        view = SoapView.as_view(endpoint=endpoint, routes=routes, on_fault=soap_fault)
        urls.append(path(endpoint.path, view, name=f"soap-{endpoint.name}"))
    return urls


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    re_path(r"^schema/(?P<name>[A-Za-z0-9_./-]+\.xsd)$", schema_file, name="soap-schema"),
    *_soap_urls(),
    path("admin/", admin.site.urls),
    path("priors/", include("imaging.web.urls")),  # the radiologists' pages
    path("", include("fhir_api.urls")),  # the FHIR R4 facade and its OAuth2 token endpoint
]
