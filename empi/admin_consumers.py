"""The operators' page of PIX consumers: where ITI-10 update notifications go, and for which domains."""

from __future__ import annotations

from django.contrib import admin

from empi.models import PixConsumer


@admin.register(PixConsumer)
class PixConsumerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organisation", "host", "port", "active"]
    list_filter = ["active", "organisation"]
    search_fields = ["receiving_application", "receiving_facility", "host"]
    filter_horizontal = ["domains"]
    fields = ["organisation", "receiving_application", "receiving_facility", "host", "port",
              "domains", "active"]
