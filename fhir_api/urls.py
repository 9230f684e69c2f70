"""The FHIR facade's URLs under /fhir, and the OAuth2 token endpoint."""

from django.urls import path, re_path
from oauth2_provider.views import TokenView

from fhir_api import views
from fhir_api.capability import capability_statement, openapi_description

_TYPE = r"(?P<kind>[A-Z][A-Za-z]{1,63})"

urlpatterns = [
    path("oauth/token", TokenView.as_view(), name="oauth-token"),
    path("fhir", views.system, name="fhir-system"),
    path("fhir/", views.system),  # clients that join the base and an empty path
    path("fhir/metadata", capability_statement, name="fhir-metadata"),
    path("fhir/openapi.json", openapi_description, name="fhir-openapi"),
    re_path(rf"^fhir/{_TYPE}$", views.resource_type, name="fhir-type"),
    re_path(rf"^fhir/{_TYPE}/_search$", views.search_post, name="fhir-search"),
    re_path(rf"^fhir/{_TYPE}/\$(?P<name>[A-Za-z][A-Za-z0-9-]{{0,63}})$", views.operation,
            name="fhir-operation"),
    re_path(rf"^fhir/{_TYPE}/(?P<key>[A-Za-z0-9\-.]{{1,64}})$", views.instance, name="fhir-instance"),
    re_path(r"^fhir/(?P<rest>.*)$", views.unknown),
]
