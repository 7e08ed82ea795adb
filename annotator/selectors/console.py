"""The supervisor's console's live figures: "who holds what" (`leases_held`), throughput per
associate, and the short-lived cache (`console_cached`) that costly figures go through."""

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q
from django.db.models.functions import Now
from django.utils import timezone

from annotator.models import Slot
from annotator.selectors.annotations import accepted_annotations
from catalog.access import store_ids
from infra.stats import PercentileCont, grouped_percentiles

HOUR = dt.timedelta(hours=1)

# Figures too costly to read from raw rows on every refresh (a day or a week of annotations)
# are kept for a few seconds in the cache named "console" of settings.CACHES: a cache every
# web process shares (the database cache, or Redis), never a per-process one, so any process
# serves the same figures. Without that cache they are computed on every read. Queue state
# (depth, leases) is never cached.
CONSOLE_CACHE = "console"
CONSOLE_CACHE_SECONDS = 10
T = TypeVar("T")


def console_cached(name: str, *, stores, compute: Callable[[], T], seconds: int = CONSOLE_CACHE_SECONDS) -> T:
    """`compute()`, or its result for the same `name` and set of `stores` of the last `seconds`."""
    if CONSOLE_CACHE not in settings.CACHES:
        return compute()
    ids = sorted(store_ids(stores))
    key = f"console:{name}:" + hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    cache = caches[CONSOLE_CACHE]
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, seconds)
    return found


@dataclass(frozen=True)
class HeldLease:
    """One row of "who holds what" on the supervisor's console."""

    slot_id: int
    task_id: str
    kind: str
    queue: str
    store: str
    associate: str
    since: dt.datetime
    last_heartbeat_at: dt.datetime | None
    expires_at: dt.datetime
    # False once the lease has expired (by the database clock) and nobody has taken the slot yet.
    live: bool


def leases_held(*, stores) -> list[HeldLease]:
    """Every held lease (live, or expired but not yet taken) on open slots of these stores,
    longest-held first."""
    live = ExpressionWrapper(Q(lease_expires_at__gte=Now()), output_field=BooleanField())
    rows = (
        Slot.objects.filter(task__store__in=stores, state=Slot.State.OPEN, holder__isnull=False)
        .annotate(live=live)
        .select_related("task", "queue__store", "holder")
        .order_by("leased_at", "id")
    )
    return [
        HeldLease(
            slot_id=slot.pk,
            task_id=str(slot.task_id),
            kind=slot.task.kind,
            queue=slot.queue.name,
            store=slot.queue.store.code,
            associate=slot.holder.get_username(),
            since=slot.leased_at,
            last_heartbeat_at=slot.last_heartbeat_at,
            expires_at=slot.lease_expires_at,
            live=slot.live,
        )
        for slot in rows
    ]


@dataclass(frozen=True)
class Throughput:
    associate: str
    last_hour: int
    last_day: int
    median_active_s: float | None


def throughput(*, stores) -> list[Throughput]:
    """Per associate: tasks done in the last hour and day, median active seconds per task (day).

    One grouped query on PostgreSQL (counts and `percentile_cont` together); elsewhere the
    median is a second query (`grouped_percentiles`). Cached (`console_cached`)."""
    return console_cached("throughput", stores=stores, compute=lambda: _throughput(stores=stores))


def _throughput(*, stores) -> list[Throughput]:
    now = timezone.now()
    day = accepted_annotations(stores=stores, since=now - dt.timedelta(days=1)).order_by()
    figures = {"last_day": Count("created_at"), "last_hour": Count("created_at", filter=Q(created_at__gte=now - HOUR))}
    if connection.vendor == "postgresql":
        figures["median"] = PercentileCont(F("active_seconds"), 0.5)
    rows = list(day.values("associate_id").annotate(**figures))
    if connection.vendor != "postgresql":
        medians = grouped_percentiles(day, F("associate_id"), F("active_seconds"), (0.5,))
        for row in rows:
            row["median"] = medians.get(row["associate_id"], {}).get(0.5)
    names = dict(
        get_user_model().objects.filter(pk__in=[row["associate_id"] for row in rows]).values_list("pk", "username")
    )
    return sorted(
        (
            Throughput(
                associate=names[row["associate_id"]],
                last_hour=row["last_hour"],
                last_day=row["last_day"],
                median_active_s=row["median"],
            )
            for row in rows
        ),
        key=lambda item: (-item.last_day, item.associate),
    )
