"""The operators' page of PIX consumers: where update notifications go (ITI-10 over MLLP, ITI-46
over SOAP), and for which domains."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from audit.events import NETWORK_CONFIGURATION
from empi.models import PixConsumer
from ops.admin import AuditedAdmin


@admin.register(PixConsumer)
class PixConsumerAdmin(AuditedAdmin):
    audit_type_code = NETWORK_CONFIGURATION
    list_display = ["__str__", "organisation", "protocol", "active"]
    list_filter = ["active", "protocol", "organisation"]
    list_select_related = ["organisation"]  # __str__ names it when there is no application
    search_fields = ["receiving_application", "receiving_facility", "host", "endpoint"]
    filter_horizontal = ["domains"]
    # An endpoint typed without its scheme is taken to be HTTPS, the way peers are reached.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["organisation", "protocol", "receiving_application", "receiving_facility",
                           "domains", "active"],
                "description": "Over HL7 v3 the receiving application is the id (an OID) of the "
                               "consumer's device, the receiver of PRPA_IN201302UV02."}),
        ("HL7 v2 over MLLP (ITI-10)", {"fields": ["host", "port"]}),
        ("HL7 v3 over SOAP (ITI-46)", {"fields": ["endpoint"]}),
    ]
