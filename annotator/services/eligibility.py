"""Which tasks an associate may still take: never one they hold, held or answered (a slot of
theirs), never one they are excluded from. Shared by the claim (`annotator.services.work`)
and the gold serve (`annotator.services.gold`).

Both probes must be one index lookup per candidate by its task (the unique (task, holder) and
(task, user) constraints), never a pass over the associate's history, which PostgreSQL plans
when its statistics are stale: hence scalar subqueries (never pulled up into an anti-join)
comparing the associate through COALESCE (which no holder or user index can serve).
bench/claim.py --explain checks it.
"""

from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from annotator.models import Slot, TaskExclusion


def not_theirs(queryset: QuerySet, *, associate_id: int) -> QuerySet:
    """`queryset` (of rows with a `task_id`) without the tasks the associate had a slot of or
    is excluded from."""
    mine = (
        Slot.objects.alias(by=Coalesce("holder_id", Value(0)))
        .filter(task_id=OuterRef("task_id"), by=associate_id)
        .values("pk")[:1]
    )
    excluded = (
        TaskExclusion.objects.alias(by=Coalesce("user_id", Value(0)))
        .filter(task_id=OuterRef("task_id"), by=associate_id)
        .values("pk")[:1]
    )
    return queryset.alias(mine=Subquery(mine), excluded=Subquery(excluded)).filter(
        mine__isnull=True, excluded__isnull=True
    )
