"""The console's front page in figures: traffic, errors, audit forwarding, prefetch jobs and the
review backlog here, the node's queue, worker and storage in ops.dashboard_node; each a plain
dataclass with its green, amber or red state, and what a user's role lets them see.

Every figure is read from an index range or a capped count (never a whole table) and kept in the
cache for CACHE_SECONDS, so a busy console costs the database one round of reads per half minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from audit.models import AuditChain, AuditEvent
from empi.models import ReviewItem
from imaging.prefetch.models import PrefetchJob
from ops.dashboard_node import (
    AMBER,
    GREEN,
    RED,
    Queue,
    Storage,
    Worker,
    duration_text,
    queue,
    storage,
    worker,
)

CACHE_SECONDS = 30
WINDOW = timedelta(hours=24)
# A capped count says "10,000+" past this: counting further costs more than the page may.
COUNT_CAP = 10_000
BARS = 8  # the longest bars of a breakdown; the rest are summed as "other"

# PS3.15 A.5.1: EventOutcomeIndicator.
OUTCOMES = {0: "success", 4: "minor failure", 8: "serious failure", 12: "major failure"}

VIEW_AUDIT = "audit.view_auditevent"
VIEW_REVIEWS = "empi.view_reviewitem"
VIEW_JOBS = "imaging.view_prefetchjob"


class Tile(Protocol):
    """What each figure says of itself: green, amber or red, and the problem in a few words."""

    @property
    def state(self) -> str: ...

    @property
    def problem(self) -> str: ...


@dataclass(frozen=True)
class Tally:
    """A count that stops at COUNT_CAP."""

    n: int

    def __str__(self) -> str:
        return f"{COUNT_CAP:,}+" if self.n > COUNT_CAP else f"{self.n:,}"


def _capped(rows: QuerySet[Any]) -> Tally:
    return Tally(rows.order_by()[:COUNT_CAP + 1].count())


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    failed: int = 0
    share: float = 0.0  # percent of the longest bar, for drawing
    failed_share: float = 0.0


def _bars(counts: dict[str, tuple[int, int]], *, limit: int = BARS) -> tuple[Bar, ...]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    if len(ranked) > limit:
        rest = ranked[limit - 1:]
        ranked = [*ranked[:limit - 1],
                  ("other", (sum(n for _, (n, _f) in rest), sum(f for _, (_n, f) in rest)))]
    return _scaled([(label, n, failed) for label, (n, failed) in ranked])


def _scaled(rows: Iterable[tuple[str, int, int]]) -> tuple[Bar, ...]:
    rows = list(rows)
    longest = max((n for _, n, _f in rows), default=0) or 1
    return tuple(Bar(label, n, failed, round(100 * n / longest, 1), round(100 * failed / longest, 1))
                 for label, n, failed in rows)


@dataclass(frozen=True)
class Traffic:
    """The audit trail's last 24 hours: every transaction and event, and how many failed."""

    total: int
    failed: int
    by_type: tuple[Bar, ...]
    by_organisation: tuple[Bar, ...]
    by_outcome: tuple[Bar, ...]
    hourly: tuple[Bar, ...]  # oldest first, labelled by the hour's start "HH:00"

    @property
    def breakdowns(self) -> tuple[tuple[str, tuple[Bar, ...]], ...]:
        return (("By type", self.by_type), ("By organisation", self.by_organisation),
                ("By outcome", self.by_outcome))

    @property
    def error_rate(self) -> float:
        return 100 * self.failed / self.total if self.total else 0.0

    @property
    def state(self) -> str:
        return RED if self.error_rate >= 10 else AMBER if self.error_rate >= 2 else GREEN

    @property
    def problem(self) -> str:
        if self.state == GREEN:
            return ""
        return f"{self.error_rate:.1f}% of the last 24 h's transactions failed"


def traffic() -> Traffic:
    now = timezone.now()
    recent = AuditEvent.objects.filter(event_datetime__gte=now - WINDOW, event_datetime__lte=now)
    by_type: dict[str, tuple[int, int]] = {}
    by_organisation: dict[str, tuple[int, int]] = {}
    by_outcome: dict[str, tuple[int, int]] = {}
    total = failed = 0
    # One GROUP BY over the event_datetime index range, folded three ways here.
    groups = (recent.values("transaction", "event_name", "organisation", "outcome")
              .annotate(n=Count("id")).order_by())
    for group in groups:
        n, bad = group["n"], group["n"] if group["outcome"] else 0
        total, failed = total + n, failed + bad
        for counts, key in ((by_type, group["transaction"] or group["event_name"]),
                            (by_organisation, group["organisation"] or "(the node)"),
                            (by_outcome, OUTCOMES.get(group["outcome"], str(group["outcome"])))):
            before = counts.get(key, (0, 0))
            counts[key] = (before[0] + n, before[1] + bad)
    return Traffic(total, failed, _bars(by_type), _bars(by_organisation),
                   _bars(by_outcome, limit=len(OUTCOMES) + 1), _hourly(recent, now))


def _hourly(recent: QuerySet[AuditEvent], now: datetime) -> tuple[Bar, ...]:
    # Hours as the console's time zone cuts them, which is how TruncHour groups them.
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    first = current - WINDOW + timedelta(hours=1)
    hours = {first + timedelta(hours=i): (0, 0) for i in range(24)}
    rows = (recent.annotate(hour=TruncHour("event_datetime")).values("hour")
            .annotate(n=Count("id"), failed=Count("id", filter=~Q(outcome=0))).order_by())
    for row in rows:
        # The window's first partial hour is counted with the first whole one.
        hour = max(row["hour"], first)
        if hour in hours:
            n, failed = hours[hour]
            hours[hour] = (n + row["n"], failed + row["failed"])
    return _scaled((f"{hour:%H}:00", n, failed) for hour, (n, failed) in hours.items())


@dataclass(frozen=True)
class Forwarding:
    """The audit records the audit record repository does not have yet (audit.forwarding)."""

    configured: bool
    unsent: Tally = Tally(0)
    oldest_unsent_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str = ""

    @property
    def lag_seconds(self) -> float:
        if self.oldest_unsent_at is None:
            return 0.0
        return max(0.0, (timezone.now() - self.oldest_unsent_at).total_seconds())

    @property
    def state(self) -> str:
        if not self.configured:
            return GREEN
        if self.failing_since is not None or self.lag_seconds >= 15 * 60:
            return RED
        return AMBER if self.lag_seconds >= 60 else GREEN

    @property
    def problem(self) -> str:
        if self.state == GREEN:
            return ""
        if self.failing_since is not None:
            return f"audit forwarding failing: {self.last_error or 'no reason given'}"
        return f"audit forwarding {duration_text(self.lag_seconds)} behind"


def forwarding() -> Forwarding:
    if not settings.AUDIT_SYSLOG_URL:
        return Forwarding(configured=False)  # the local table is the only repository
    unsent = AuditEvent.objects.filter(sent_at__isnull=True)
    # The partial index audit_unsent holds exactly these rows, in sequenceId order.
    oldest = (unsent.order_by(F("sequence_id").asc(nulls_last=True))
              .values_list("created_at", flat=True).first())
    failing_since, last_error = (AuditChain.objects.filter(pk=1)
                                 .values_list("failing_since", "last_error").first() or (None, ""))
    return Forwarding(True, _capped(unsent), oldest, failing_since, last_error)


@dataclass(frozen=True)
class Jobs:
    """Prefetch jobs waiting, at work and failed (the last also among the last 24 h's jobs)."""

    queued: Tally
    running: Tally
    failed: Tally
    failed_recently: Tally

    @property
    def state(self) -> str:
        if self.queued.n >= 1000 or self.failed_recently.n >= 10:
            return RED
        return AMBER if self.queued.n >= 100 or self.failed_recently.n else GREEN

    @property
    def problem(self) -> str:
        if self.state == GREEN:
            return ""
        return f"{self.failed_recently} prefetch job(s) failed in 24 h, {self.queued} queued"


def jobs() -> Jobs:
    by_status = PrefetchJob.objects.filter
    return Jobs(
        _capped(by_status(status=PrefetchJob.QUEUED)), _capped(by_status(status=PrefetchJob.RUNNING)),
        _capped(by_status(status=PrefetchJob.FAILED)),
        _capped(by_status(status=PrefetchJob.FAILED, created_at__gte=timezone.now() - WINDOW)))


@dataclass(frozen=True)
class Reviews:
    """The EMPI's review queue: candidate pairs waiting for a data steward."""

    open: Tally

    @property
    def state(self) -> str:
        return RED if self.open.n >= 1000 else AMBER if self.open.n >= 100 else GREEN

    @property
    def problem(self) -> str:
        return f"{self.open} EMPI reviews waiting" if self.state != GREEN else ""


def reviews() -> Reviews:
    return Reviews(_capped(ReviewItem.objects.filter(status=ReviewItem.OPEN)))


@dataclass(frozen=True)
class Dashboard:
    """What one user may see of the front page; None where their role does not cover it."""

    traffic: Traffic | None = None
    forwarding: Forwarding | None = None
    jobs: Jobs | None = None
    reviews: Reviews | None = None
    queue: Queue | None = None
    worker: Worker | None = None
    storage: Storage | None = None

    @property
    def tiles(self) -> list[Tile]:
        return [tile for tile in (self.traffic, self.forwarding, self.jobs, self.reviews,
                                  self.queue, self.worker, self.storage) if tile is not None]

    @property
    def problems(self) -> list[str]:
        order = {RED: 0, AMBER: 1}
        return [tile.problem for tile in sorted(self.tiles, key=lambda t: order.get(t.state, 2))
                if tile.state != GREEN]

    @property
    def state(self) -> str:
        states = {tile.state for tile in self.tiles}
        return RED if RED in states else AMBER if AMBER in states else GREEN


T = TypeVar("T")


def _cached(name: str, compute: Callable[[], T]) -> T:
    return cast(T, cache.get_or_set(f"ops.dashboard.{name}", compute, CACHE_SECONDS))


def dashboard_for(*, user: Any) -> Dashboard:
    """The figures `user`'s permissions cover, each read at most once per CACHE_SECONDS."""
    audit, review, job = (user.has_perm(VIEW_AUDIT), user.has_perm(VIEW_REVIEWS),
                          user.has_perm(VIEW_JOBS))
    node = user.is_active and user.is_staff and (audit or review or job)
    return Dashboard(
        traffic=_cached("traffic", traffic) if audit else None,
        forwarding=_cached("forwarding", forwarding) if audit else None,
        jobs=_cached("jobs", jobs) if job else None,
        reviews=_cached("reviews", reviews) if review else None,
        queue=_cached("queue", queue) if node else None,
        worker=_cached("worker", worker) if node else None,
        storage=_cached("storage", storage) if node else None,
    )
