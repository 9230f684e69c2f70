"""The node's own figures on the console's front page: the task broker's queue, the worker's
heartbeat, the disk. Each a plain dataclass with its green, amber or red state (ops.dashboard
puts them beside the exchange's figures)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from kombu.exceptions import ChannelError

from config.celery import app as celery_app
from ops.models import Heartbeat

GREEN, AMBER, RED = "green", "amber", "red"
BROKER_TIMEOUT = 1  # seconds: an unanswering broker shows "unknown", it does not stall the page


@dataclass(frozen=True)
class Queue:
    """The Celery broker's queue: tasks sent and not yet taken by a worker."""

    name: str
    depth: int | None  # None: the broker did not answer

    @property
    def state(self) -> str:
        if self.depth is None or self.depth >= 1000:
            return RED
        return AMBER if self.depth >= 100 else GREEN

    @property
    def problem(self) -> str:
        if self.depth is None:
            return "the task broker does not answer"
        return f"{self.depth:,} tasks waiting in the broker" if self.state != GREEN else ""


def queue() -> Queue:
    name = str(celery_app.conf.task_default_queue)
    url = str(celery_app.conf.broker_read_url or celery_app.conf.broker_url or "")
    # Redis takes socket timeouts; the SQLAlchemy transport hands its options to create_engine,
    # which refuses them (config/broker.py).
    options = ({"socket_timeout": BROKER_TIMEOUT, "socket_connect_timeout": BROKER_TIMEOUT}
               if url.startswith(("redis", "rediss")) else {})
    try:
        with celery_app.connection_for_read(connect_timeout=BROKER_TIMEOUT,
                                            transport_options=options) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
            try:
                channel: Any = conn.default_channel
                _name, depth, _consumers = channel.queue_declare(queue=name, passive=True)
            except ChannelError as exc:
                # AMQP 404: no task was ever sent to it (Redis drops an empty list's key).
                if str(getattr(exc, "code", "")) not in ("404", "(50, 10)") and "NOT_FOUND" not in str(exc):
                    raise
                depth = 0
    except Exception:  # a figure on a page reports a broker failure, it does not raise it
        return Queue(name, None)
    return Queue(name, int(depth))


@dataclass(frozen=True)
class Worker:
    """The worker's heartbeat, as /healthz reads it (ops.health.check_worker)."""

    beat_at: datetime | None

    @property
    def age_seconds(self) -> float | None:
        return None if self.beat_at is None else (timezone.now() - self.beat_at).total_seconds()

    @property
    def age(self) -> str:
        return "never" if self.age_seconds is None else f"{duration_text(self.age_seconds)} ago"

    @property
    def state(self) -> str:
        age = self.age_seconds
        return GREEN if age is not None and age < 4 * settings.HEARTBEAT_SECONDS + 10 else RED

    @property
    def problem(self) -> str:
        if self.state == GREEN:
            return ""
        if self.beat_at is None:
            return "no worker heartbeat yet"
        return f"worker heartbeat stale: the last was {self.age}"


def worker() -> Worker:
    return Worker(Heartbeat.objects.filter(process="worker").values_list("beat_at", flat=True).first())


@dataclass(frozen=True)
class Volume:
    """A file system's bytes, as statvfs counts them."""

    used: int
    total: int
    free: int


@dataclass(frozen=True)
class Storage:
    """The volume of the document store (files) and of VAR_DIR, as the file system counts them:
    summing a million Document sizes is a table scan, statvfs is one call."""

    var: Volume
    store: Volume | None  # None: the store is S3, whose buckets do not say their size cheaply
    store_where: str
    same_volume: bool = False
    min_free: int = field(default_factory=lambda: int(settings.HEALTH_MIN_FREE_BYTES))

    @property
    def state(self) -> str:
        volumes = [self.var] + ([self.store] if self.store else [])
        if any(v.free < self.min_free for v in volumes):
            return RED
        return AMBER if any(v.free < 0.1 * v.total for v in volumes) else GREEN

    @property
    def problem(self) -> str:
        free = min(v.free for v in [self.var] + ([self.store] if self.store else []))
        return f"disk space low: {filesizeformat(free)} free" if self.state != GREEN else ""


def storage() -> Storage:
    var = _volume(Path(settings.VAR_DIR))
    options = cast(dict[str, Any], settings.DOCUMENT_STORAGE.get("OPTIONS") or {})
    if "bucket_name" in options:
        return Storage(var, None, f"S3 bucket {options['bucket_name']}")
    location = Path(str(options.get("location", settings.VAR_DIR)))
    # The store folder appears with the first document; until then its parent's volume counts.
    where = next((p for p in (location, *location.parents) if p.exists()), Path(settings.VAR_DIR))
    same = where.stat().st_dev == Path(settings.VAR_DIR).stat().st_dev
    return Storage(var, _volume(where), "the document store's volume", same)


def _volume(path: Path) -> Volume:
    usage = shutil.disk_usage(path)
    return Volume(usage.used, usage.total, usage.free)


def duration_text(seconds: float) -> str:
    """A duration as a person says it: "45 s", "12 min", "3 h", "2 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"
