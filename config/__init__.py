"""Configuration of the node: settings, URLs, the Celery app and the routes table."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
