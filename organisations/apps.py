"""Django app configuration of `organisations`."""

from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "organisations"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from organisations.roles import roles_sync

        # After every app's permissions exist, which post_migrate of the last app guarantees.
        post_migrate.connect(roles_sync, dispatch_uid="organisations.roles_sync")
    verbose_name = "Affinity domain"
