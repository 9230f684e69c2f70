"""Django app configuration of `empi`."""

from django.apps import AppConfig
from django.db.models.signals import post_save


class EmpiConfig(AppConfig):
    name = "empi"
    verbose_name = "EMPI"

    def ready(self) -> None:
        # ITI-10: a record that changes person is notified to the PIX consumers on commit.
        from empi import admin_consumers, notify  # noqa: F401  (admin_consumers registers its page)
        from empi.models import LinkEvent

        post_save.connect(notify.link_event_saved, sender=LinkEvent,
                          dispatch_uid="empi.notify.link_event_saved")
