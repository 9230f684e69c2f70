"""Django app configuration of `imaging`."""

from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging"

    def ready(self) -> None:
        # RAD-68 shares ITI-41's action: the repository asks this inspector about manifests.
        from imaging.kos.inspector import kos_inspect
        from repository.inspection import inspector_register

        inspector_register(kos_inspect)
