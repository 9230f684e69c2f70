"""Django app configuration of `ops`."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import console  # noqa: F401  (connects the sign-in audit receivers)
