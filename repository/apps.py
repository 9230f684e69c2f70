"""Django app configuration of `repository`."""

from django.apps import AppConfig


class RepositoryConfig(AppConfig):
    name = "repository"
    verbose_name = "XDS.b Document Repository"
