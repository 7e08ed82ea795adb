"""The lease engine: claim and heartbeat (submit and release: `annotator.services.submit`).
One implementation in the ORM, the same on PostgreSQL and SQLite (where writes serialize and
FOR UPDATE is a no-op).

A lease lives on its `Slot` row (holder, fencing token, expiry). The rules:

- **Claim**: a `SELECT … FOR UPDATE SKIP LOCKED` of the first claimable slot in claim order
  (the `slot_claim_order` index: priority desc, due_at, created_at, id), then a conditional
  UPDATE (still open, lease free) that must change exactly one row. Concurrent claimers never
  wait on each other's rows. The unique `slot_one_held_per_queue` and (task, holder)
  constraints are the backstop: an IntegrityError retries the claim once, which resumes.
- **Resume**: a claim first resumes the associate's open slot in their queues (a live lease
  is extended, an expired one nobody took is leased afresh); with several queues it claims
  from the best head first.
- **Gold and pauses** (`annotator.services.gold`): the claim's first statement also says,
  per queue, whether the associate is paused in its store and whether it holds gold they
  were never served. Queues of paused stores are skipped (a held lease there still resumes);
  when every queue is, 403 `associate_paused`. Gold is served in place of a take when their
  share is due.
- **Database clock**: lease times are the database's `Now()` (read under the row lock and
  written by the UPDATE that checks them), so skewed app servers cannot disagree.
- **Fencing**: each claim bumps `lease_token`; heartbeat, submit and release change only the
  slot of (task, holder, state open[, token]): a stale holder gets 409 `lease_lost`.
- **Lazy expiry**: an expired lease is free for others; no sweeper. A heartbeat revives an
  expired lease nobody took; a submit needs a live one.
- **Submit and release**: `annotator.services.submit`.
- **Lock order**: the associate's user row (claim), the task (submit, supervisor actions in
  `control`), then slot rows, so no two of these deadlock.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Now

from annotator.access import tasks_for_user
from annotator.models import AssociatePause, Queue, Slot, Task
from annotator.services.eligibility import not_theirs
from annotator.services.gold import gold_serve, gold_unserved
from catalog import roles
from catalog.access import stores_for_user
from infra.errors import Conflict, LoupeError

# The claim order; it matches the partial index `slot_claim_order` column for column.
CLAIM_ORDER = ("-priority", "due_at", "created_at", "id")
# Active time added by one heartbeat is capped, so a page left open without heartbeats
# (laptop asleep, tab frozen) does not accrue time.
ACTIVE_CAP_SECONDS = 60.0
RELEASE_REASON_MAX = 500
# The largest fencing token a request may name: Slot.lease_token is a bigint. A larger one is
# 400 at the door, before any query (PostgreSQL would refuse it with an error, a 500).
TOKEN_MAX = 2**63 - 1

OPEN = Slot.State.OPEN
LEASE_FREE = Q(holder__isnull=True) | Q(lease_expires_at__lt=Now())


@dataclass(frozen=True)
class Lease:
    task: Task
    slot_id: int
    token: int
    expires_at: dt.datetime


class AssociatePaused(LoupeError):
    """403 `associate_paused`: every queue the claim could take from is in a store where the
    associate is paused (a lease they already hold goes on)."""

    status_code = 403
    code = "associate_paused"


def lease_lost() -> Conflict:
    return Conflict(
        "You no longer hold this task: its lease ran out, a supervisor released or reassigned it, or it is finished.",
        code="lease_lost",
    )


def claimable_slots(*, associate_id: int, queue_id: uuid.UUID) -> QuerySet[Slot]:
    """Open slots of one queue this associate may be offered, in claim order: lease free or
    expired, no other slot of the task held (or done) by them, not excluded from the task.

    The "not theirs" probes are `annotator.services.eligibility.not_theirs` (one index
    lookup per candidate; bench/claim.py --explain checks it)."""
    return not_theirs(
        Slot.objects.filter(queue_id=queue_id, state=OPEN).filter(LEASE_FREE), associate_id=associate_id
    ).order_by(*CLAIM_ORDER)


def accrued(active_seconds: float, last_heartbeat_at: dt.datetime | None, now: dt.datetime) -> float:
    """Active time plus the time since the last heartbeat, capped: it counts only while
    heartbeats flow."""
    gap = 0.0 if last_heartbeat_at is None else (now - last_heartbeat_at).total_seconds()
    return active_seconds + min(max(gap, 0.0), ACTIVE_CAP_SECONDS)


def lease_changes(*, associate_id: int, now: dt.datetime, lease_seconds: int) -> dict:
    """A slot leased afresh at the database time `now`: a bumped token fences out its last holder."""
    return {
        "holder_id": associate_id,
        "lease_token": F("lease_token") + 1,
        "leased_at": now,
        "lease_expires_at": now + dt.timedelta(seconds=lease_seconds),
        "last_heartbeat_at": now,
        "active_seconds": 0,
    }


def free_changes() -> dict:
    """A slot handed back: no holder, no lease, a bumped token (its last holder is fenced out)."""
    return {
        "holder": None,
        "lease_token": F("lease_token") + 1,
        "leased_at": None,
        "lease_expires_at": None,
        "last_heartbeat_at": None,
        "active_seconds": 0,
    }


def held_slot_rows(*, associate, task_id: uuid.UUID, token: int | None) -> QuerySet[Slot]:
    """The associate's open slot of a task (at most one: unique (task, holder)), fenced on
    `token` when given."""
    slots = Slot.objects.filter(task_id=task_id, holder_id=associate.pk, state=OPEN)
    return slots if token is None else slots.filter(lease_token=token)


# Claim ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Eligible:
    queue_id: uuid.UUID
    lease_seconds: int
    held: int | None
    paused: bool
    gold_waiting: bool


def _claim_start(*, associate, queue_id: uuid.UUID | None) -> list[_Eligible]:
    """Lock the associate's user row (FOR NO KEY UPDATE: one claim at a time per associate,
    and no wait on the foreign key checks of their rows) and answer the queues they may
    claim from now (member, store granted, not paused; only `queue_id` if given) with their
    lease seconds, their open slot of it or None, whether they are paused in its store
    (`AssociatePause`) and whether it holds gold they were not served yet (`GoldTask`), all
    in the one statement. With no such queue nothing is locked.
    The held slot is read on the statement's snapshot: after a wait for the lock it may miss
    what their other tab just leased, which the claim then meets as a unique violation (and
    resumes on the retry) or, finding nothing, looks for again (`_held_slots`)."""
    # Their memberships (the join) of queues in their stores (`stores_for_user`), not paused.
    eligible = {"queues__is_paused": False, "queues__store__in": stores_for_user(associate)}
    if queue_id is not None:
        eligible["queues__id"] = queue_id
    if not roles.is_supervisor(associate):
        eligible["queues__supervisors_only"] = False  # escalations: supervisors only
    held = Slot.objects.filter(holder_id=associate.pk, state=OPEN, queue_id=OuterRef("queues__id")).values("pk")[:1]
    paused = AssociatePause.objects.filter(
        associate_id=associate.pk, store_id=OuterRef("queues__store_id"), reinstated_at__isnull=True
    )
    gold = gold_unserved(associate_id=associate.pk).filter(
        store_id=OuterRef("queues__store_id"), task__queue_id=OuterRef("queues__id")
    )
    # Gold measures associates: a supervisor working a queue is never served it.
    gold_waiting = Value(False) if roles.is_supervisor(associate) else Exists(gold)
    rows = (
        get_user_model()
        .objects.select_for_update(of=("self",), no_key=True)  # model rows: a values() query drops OF
        .filter(pk=associate.pk, **eligible)
        .annotate(
            queue=F("queues__id"),
            lease_seconds=F("queues__lease_seconds"),
            held=Subquery(held),
            paused=Exists(paused),
            gold_waiting=gold_waiting,
        )
        .only("pk")
    )
    return [_Eligible(row.queue, row.lease_seconds, row.held, row.paused, row.gold_waiting) for row in rows]


def _held_slots(*, associate, queues: dict[uuid.UUID, int]) -> list[tuple[int, uuid.UUID]]:
    """The open slots the associate holds in these queues ([(slot id, queue id)]), in claim order."""
    held = Slot.objects.filter(holder_id=associate.pk, state=OPEN, queue_id__in=list(queues)).order_by(*CLAIM_ORDER)
    return list(held.values_list("id", "queue_id"))


def _resume(*, associate, slot_id: int, lease_seconds: int) -> Lease | None:
    """Their own open slot, if they still hold it: a live lease is extended like a heartbeat,
    an expired one (nobody took it yet) leased afresh with a bumped token."""
    slot = (
        Slot.objects.select_for_update(of=("self",))
        .select_related("task")
        .filter(pk=slot_id, holder_id=associate.pk, state=OPEN)
        .annotate(now=Now())
        .first()
    )
    if slot is None:
        return None
    now, token = slot.now, slot.lease_token
    changes = {"lease_expires_at": now + dt.timedelta(seconds=lease_seconds), "last_heartbeat_at": now}
    if slot.lease_expires_at is None or slot.lease_expires_at < now:
        token += 1
        changes |= {"lease_token": token, "leased_at": now}
    else:
        changes["active_seconds"] = accrued(slot.active_seconds, slot.last_heartbeat_at, now)
    mine = Slot.objects.filter(pk=slot.pk, holder_id=associate.pk, state=OPEN, lease_token=slot.lease_token)
    if mine.update(**changes) != 1:
        return None
    return Lease(task=slot.task, slot_id=slot.pk, token=token, expires_at=changes["lease_expires_at"])


def _take(*, associate, queue_id: uuid.UUID, lease_seconds: int) -> Lease | None:
    """Lease the first claimable slot of one queue: lock it (SKIP LOCKED, read with its task
    and the database's time), then the conditional UPDATE."""
    slot = (
        claimable_slots(associate_id=associate.pk, queue_id=queue_id)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("task")
        .annotate(now=Now())
        .first()
    )
    if slot is None:
        return None
    changes = lease_changes(associate_id=associate.pk, now=slot.now, lease_seconds=lease_seconds)
    if Slot.objects.filter(Q(state=OPEN) & LEASE_FREE, pk=slot.pk).update(**changes) != 1:
        return None
    return Lease(task=slot.task, slot_id=slot.pk, token=slot.lease_token + 1, expires_at=changes["lease_expires_at"])


def _queue_order(*, associate, queues: dict[uuid.UUID, int]) -> list[uuid.UUID]:
    """With several queues, probe each queue's head (an index range scan each, no locks) and
    visit the queues best head first: one `queue_id IN (...)` query would sort every open slot
    of those queues instead of reading one index range."""
    if len(queues) == 1:
        return list(queues)
    heads = []
    for queue_id in queues:
        head = (
            claimable_slots(associate_id=associate.pk, queue_id=queue_id)
            .values_list("priority", "due_at", "created_at", "id")
            .first()
        )
        if head is not None:
            priority, due_at, created_at, slot_id = head
            heads.append(((-priority, due_at, created_at, slot_id), queue_id))
    heads.sort(key=lambda item: item[0])
    return [queue_id for _, queue_id in heads]


def _take_or_gold(*, associate, queue_id: uuid.UUID, lease_seconds: int, gold_waiting: bool, probed: bool):
    """Gold when the associate's share is due (`annotator.services.gold`), else the queue's
    first claimable slot. `probed`: the queue is known to have real work for them."""
    if gold_waiting:
        real_work = probed or claimable_slots(associate_id=associate.pk, queue_id=queue_id).exists()
        served = gold_serve(associate=associate, queue_id=queue_id, lease_seconds=lease_seconds, real_work=real_work)
        if served is not None:
            task, slot = served
            return Lease(task=task, slot_id=slot.pk, token=slot.lease_token, expires_at=slot.lease_expires_at)
    return _take(associate=associate, queue_id=queue_id, lease_seconds=lease_seconds)


@transaction.atomic
def _claim(*, associate, queue_id: uuid.UUID | None) -> Lease | None:
    start = _claim_start(associate=associate, queue_id=queue_id)
    if not start:
        return None
    queues = {row.queue_id: row.lease_seconds for row in start}
    held = [(row.held, row.queue_id) for row in start if row.held is not None]
    # A lease held in a store where they were paused since goes on (resume, submit).
    for slot_id, queue in held:
        if (lease := _resume(associate=associate, slot_id=slot_id, lease_seconds=queues[queue])) is not None:
            return lease
    open_rows = {row.queue_id: row for row in start if not row.paused}
    if not open_rows:
        raise AssociatePaused(
            "You are paused in this store: your answers to quality checks were below its accuracy floor. "
            "A supervisor can reinstate you; see your work home for the reason.",
        )
    order = _queue_order(associate=associate, queues={queue: queues[queue] for queue in open_rows})
    for queue in order:
        row = open_rows[queue]
        lease = _take_or_gold(
            associate=associate,
            queue_id=queue,
            lease_seconds=row.lease_seconds,
            gold_waiting=row.gold_waiting,
            probed=len(open_rows) > 1,
        )
        if lease is not None:
            return lease
    # Nothing to take: their other tab may have leased what this claim skipped while it
    # waited for the user lock (the held slots above were read before that wait).
    for slot_id, queue in _held_slots(associate=associate, queues=queues):
        if (slot_id, queue) in held:
            continue
        if (lease := _resume(associate=associate, slot_id=slot_id, lease_seconds=queues[queue])) is not None:
            return lease
    return None


def task_claim(*, associate, queue: Queue | None = None, queue_id: uuid.UUID | None = None) -> Lease | None:
    """Lease the next task for an associate, or resume the one they hold; None if none.
    `queue` (or just its `queue_id`) restricts the claim to that queue.

    One transaction: the associate's user lock with their queues and held slots, then a
    resume, or a SKIP LOCKED select and a conditional UPDATE per queue, best head first
    (see the module docstring). On IntegrityError (two tabs claiming at once) the claim is
    retried once and resumes what the other tab leased. A None means that, when it looked,
    every claimable slot was leased or locked by a claimer about to lease it."""
    if queue is not None:
        queue_id = queue.pk
    try:
        return _claim(associate=associate, queue_id=queue_id)
    except IntegrityError:
        return _claim(associate=associate, queue_id=queue_id)


def task_claim_next(*, associate, after: Task | None, queue: Queue | None = None) -> Lease | None:
    """The next task after one the associate finished, released or lost (`after`; or after
    work in `queue`): from that queue first, then from any of theirs. Both doors, the
    workbench and the work API's `next`, claim through here, after the submit committed: the
    associate never holds two leases, and a failed claim cannot undo the stored annotation."""
    first = after.queue_id if after is not None else (queue.pk if queue is not None else None)
    lease = task_claim(associate=associate, queue_id=first)
    if lease is None and first is not None:
        lease = task_claim(associate=associate)
    return lease


# Heartbeat, submit, release -------------------------------------------------------------------


@transaction.atomic
def task_heartbeat(*, associate, task_id: uuid.UUID, token: int | None = None) -> dt.datetime:
    """Extend the associate's lease on a task by its queue's lease length and add the active
    time since the last heartbeat (capped). Locks their slot (only if the task is in one of
    their stores), then one conditional UPDATE; 409 `lease_lost` if the slot went to someone
    else or is finished. Revives an expired lease nobody took (holder and token unchanged)."""
    slot = (
        held_slot_rows(associate=associate, task_id=task_id, token=token)
        .filter(task__in=tasks_for_user(associate))
        .select_for_update(of=("self",))
        .annotate(now=Now(), lease_seconds=F("queue__lease_seconds"))
        .first()
    )
    if slot is None:
        raise lease_lost()
    now = slot.now
    expires_at = now + dt.timedelta(seconds=slot.lease_seconds)
    changes = {
        "active_seconds": accrued(slot.active_seconds, slot.last_heartbeat_at, now),
        "last_heartbeat_at": now,
        "lease_expires_at": expires_at,
    }
    if held_slot_rows(associate=associate, task_id=task_id, token=slot.lease_token).update(**changes) != 1:
        raise lease_lost()
    return expires_at
