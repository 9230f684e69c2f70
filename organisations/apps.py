"""Django app configuration of `organisations`."""

from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "organisations"
    verbose_name = "Affinity domain"
