"""Django app configuration of `empi`."""

from django.apps import AppConfig


class EmpiConfig(AppConfig):
    name = "empi"
    verbose_name = "EMPI"
