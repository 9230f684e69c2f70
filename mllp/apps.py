"""Django app configuration of `mllp`."""

from django.apps import AppConfig


class MllpConfig(AppConfig):
    name = "mllp"
    verbose_name = "MLLP listener"
