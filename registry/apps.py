"""Django app configuration of `registry`."""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "XDS.b Document Registry"
