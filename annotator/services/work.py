"""The queue engine: claim, heartbeat, submit, release, and the supervisor's lease actions.

A lease lives on its `Slot` row (holder, fencing token, expiry). Rules every function here
keeps:

- **Database clock.** Every lease time is written by the database (`Now()`, i.e.
  `STATEMENT_TIMESTAMP()` on PostgreSQL) and every "is it expired?" is asked of it, so app
  servers with skewed clocks cannot disagree about a lease.
- **Fencing.** Each claim of a slot bumps `lease_token`. Heartbeat, submit and release are
  one conditional UPDATE on (slot, holder, token, state open): a stale holder changes
  nothing and gets 409 `lease_lost`.
- **Lazy expiry.** An expired lease is free for everyone else (the claim query says
  `holder IS NULL OR lease_expires_at < now()`); no sweeper is needed.
- **A submit needs a live lease** (API.md: "no live lease → 409 `lease_lost`"): one whose
  lease ran out stores nothing, even if nobody has taken the slot yet. A heartbeat, though,
  revives an expired lease that nobody has taken (the holder and token are unchanged, so
  nobody else's work is touched): a page back from a laptop's sleep keeps its task. The
  workbench renews that way and sends once more when its submit finds the lease run out,
  so finished work is not thrown away for a late heartbeat. Once another associate claims
  the slot, the holder and token change: heartbeat and submit get 409 `lease_lost`.
- **One open slot per associate per queue** (`slot_one_held_per_queue`): a claim resumes
  it, a reassign to someone busy in that queue is refused.
- **Lock order.** The associate's user row (a claim's long way, reassign), then the task row (submit,
  reassign, set priority), then slot rows. Every function takes them in that order, so no two
  of them deadlock.
"""

import contextlib
import datetime as dt
import json
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Now
from django.http import Http404
from rest_framework import status

from annotator import kinds
from annotator.access import queues_for_associate, tasks_for_user
from annotator.models import Annotation, Queue, Slot, Task, TaskExclusion
from annotator.services import work_sql
from annotator.services.labels import LabelIn, submit_provenance
from annotator.services.work_sql import CLAIM_ORDER, LEASE_FREE, OPEN, claimable_slots
from catalog.access import stores_for_user
from catalog.roles import is_associate, is_supervisor
from infra.errors import Conflict, LoupeError


@dataclass(frozen=True)
class Lease:
    task: Task
    slot_id: int
    token: int
    expires_at: dt.datetime


def lease_lost() -> Conflict:
    return Conflict(
        "You no longer hold this task: its lease ran out, a supervisor released or reassigned it, or it is finished.",
        code="lease_lost",
    )


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _lease_from_row(row) -> Lease:
    slot_id, token, expires_at, *task = row
    return Lease(task=work_sql.task_from_row(task), slot_id=slot_id, token=token, expires_at=expires_at)


def _lease_of(slot_id: int) -> Lease:
    slot = Slot.objects.select_related("task").get(pk=slot_id)
    return Lease(task=slot.task, slot_id=slot.pk, token=slot.lease_token, expires_at=slot.lease_expires_at)


def _lock_user(user_id: int) -> None:
    """The associate's user row, locked against a claim's long way and other reassigns. FOR
    NO KEY UPDATE, which the foreign key checks of rows that name the user (FOR KEY SHARE,
    run at commit: a claim's slot, an annotation) do not wait for: with FOR UPDATE a
    reassign waiting for the associate's own claim (the unique `slot_one_held_per_queue`)
    or submit (the task lock) deadlocked with that transaction's commit."""
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=user_id).values_list("pk", flat=True))


def claim_sql(*, associate_id: int) -> tuple[str, list]:
    """The PostgreSQL claim statement `task_claim` runs first (the associate's only queue:
    held slot probe, resume or claim; bench/claim.py EXPLAINs it)."""
    return work_sql.TAKE_ONLY(shape={"superuser": False}, associate_id=associate_id)


def _lock_and_list_queues(*, associate, queue_id: uuid.UUID | None) -> dict[uuid.UUID, int]:
    """Lock the associate's user row (one claim at a time per associate) and answer the
    queues they may claim from now: {queue id: lease seconds}. With no such queue nothing is
    locked: the claim then writes nothing."""
    if not _on_postgresql():
        return dict(work_sql.claim_start_rows(associate=associate, queue_id=queue_id))
    shape = {"superuser": associate.is_superuser}
    if queue_id is None:
        return dict(work_sql.CLAIM_START.run(shape=shape, associate_id=associate.pk))
    return dict(work_sql.CLAIM_START_IN_QUEUE.run(shape=shape, associate_id=associate.pk, queue_id=queue_id))


def _held(*, associate, queues: dict[uuid.UUID, int]) -> list[tuple[int, uuid.UUID]]:
    """The open slots the associate holds in these queues ([(slot id, queue id)], usually
    none), in claim order."""
    if _on_postgresql():
        return [(slot_id, queue) for slot_id, queue in work_sql.HELD.run(associate_id=associate.pk) if queue in queues]
    held = Slot.objects.filter(holder_id=associate.pk, state=OPEN, queue_id__in=list(queues)).order_by(*CLAIM_ORDER)
    return list(held.values_list("id", "queue_id"))


def _resume(*, associate, slot_id: int, lease_seconds: int) -> Lease | None:
    """The associate's own open slot, if they still hold it (live, or expired and not yet
    taken by anyone): a live lease is extended like a heartbeat, an expired one leased afresh
    with a bumped token."""
    lease = dt.timedelta(seconds=lease_seconds)
    if _on_postgresql():
        rows = work_sql.RESUME.run(slot_id=slot_id, associate_id=associate.pk, lease=lease)
        return _lease_from_row(rows[0]) if rows else None
    mine = Slot.objects.filter(pk=slot_id, holder_id=associate.pk, state=OPEN)
    if mine.update(**work_sql.resume_changes(lease=lease)) != 1:
        return None
    return _lease_of(slot_id)


def _take_next(*, associate, queue_id: uuid.UUID, lease_seconds: int) -> Lease | None:
    """Lease the first claimable slot of one queue: the SKIP LOCKED select and the
    conditional UPDATE in one statement on PostgreSQL (`work_sql.CLAIM`). SQLite (writes
    serialize): read the candidate's id, conditional UPDATE, read the lease back."""
    if _on_postgresql():
        lease = dt.timedelta(seconds=lease_seconds)
        rows = work_sql.CLAIM.run(associate_id=associate.pk, queue_id=queue_id, lease=lease)
        return _lease_from_row(rows[0]) if rows else None
    slot_id = claimable_slots(associate_id=associate.pk, queue_id=queue_id).values_list("pk", flat=True).first()
    changes = work_sql.claim_changes(associate_id=associate.pk, lease=dt.timedelta(seconds=lease_seconds))
    if slot_id is None or Slot.objects.filter(Q(state=OPEN) & LEASE_FREE, pk=slot_id).update(**changes) != 1:
        return None
    return _lease_of(slot_id)


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


def _take_only(*, associate, queue_id: uuid.UUID | None) -> tuple[int, Lease | None]:
    """`work_sql.TAKE_ONLY`: (how many queues the associate may claim from, the lease if the
    statement leased one). A transaction of its own: outside any transaction no BEGIN and
    COMMIT are sent; inside a caller's, in a savepoint, so that the unique violation of a
    racing tab leaves that transaction usable for the retry."""
    shape = {"superuser": associate.is_superuser}
    with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
        if queue_id is None:
            rows = work_sql.TAKE_ONLY.run(shape=shape, associate_id=associate.pk)
        else:
            rows = work_sql.TAKE_ONLY_IN_QUEUE.run(shape=shape, associate_id=associate.pk, queue_id=queue_id)
    ((queues, *leased),) = rows
    return queues, None if leased[0] is None else _lease_from_row(leased)


def _claim(*, associate, queue_id: uuid.UUID | None) -> Lease | None:
    if _on_postgresql():
        # The usual claim, an associate of one queue: one statement, no transaction.
        queues, lease = _take_only(associate=associate, queue_id=queue_id)
        if lease is not None or queues == 0:
            return lease
        # Several queues, nothing to claim, or their held slot went to someone else meanwhile.
    return _claim_the_long_way(associate=associate, queue_id=queue_id)


@transaction.atomic
def _claim_the_long_way(*, associate, queue_id: uuid.UUID | None) -> Lease | None:
    """Under the associate's user lock (one such claim at a time per associate): resume a
    held slot of their queues, else claim queue by queue, best head first. On PostgreSQL it
    first waits for the one-statement claims of the associate's other tabs to commit
    (`work_sql.CLAIM_LOCK`), which take no user lock."""
    if _on_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(work_sql.CLAIM_LOCK_EXCLUSIVE, [associate.pk])
    queues = _lock_and_list_queues(associate=associate, queue_id=queue_id)
    if not queues:
        return None
    for slot_id, held_queue in _held(associate=associate, queues=queues):
        if (lease := _resume(associate=associate, slot_id=slot_id, lease_seconds=queues[held_queue])) is not None:
            return lease
    for queue_id in _queue_order(associate=associate, queues=queues):
        if (lease := _take_next(associate=associate, queue_id=queue_id, lease_seconds=queues[queue_id])) is not None:
            return lease
    return None


def task_claim(*, associate, queue: Queue | None = None, queue_id: uuid.UUID | None = None) -> Lease | None:
    """Lease the next task for an associate, or resume the one they hold; None if none.
    `queue` (or just its `queue_id`) restricts the claim to that queue.

    Guarantees: at most one live lease per slot (`FOR UPDATE SKIP LOCKED`, so concurrent
    claimers never wait on each other's rows); at most one open slot per associate per queue
    (a second claim resumes it) and never two slots of one task for one associate: the
    unique `slot_one_held_per_queue` and (task, holder) constraints are the backstop, and on
    IntegrityError (two tabs claiming at once) the claim is retried once and resumes what
    the other tab leased; queues are those of the associate's stores and memberships, not
    paused; order is priority, then `due_at`, then age. A None means that, when the query
    ran, every claimable slot was either leased or locked by a claimer about to lease it.

    Round trips on PostgreSQL, for an associate of one queue (the usual case): one statement
    that finds that queue, resumes their held slot or claims a new one, and answers the task
    with the lease, as its own transaction; each statement is compiled once per process
    (`work_sql`). With several queues, or when that statement leases nothing, the long way:
    in a transaction, the associate's user lock with the queue list, a probe for a held slot,
    then resume or claim queue by queue.
    """
    if queue is not None:
        queue_id = queue.pk
    try:
        return _claim(associate=associate, queue_id=queue_id)
    except IntegrityError:
        return _claim(associate=associate, queue_id=queue_id)


def task_heartbeat(*, associate, task_id: uuid.UUID, token: int | None = None) -> dt.datetime:
    """Extend the associate's lease on a task and add the active time since the last
    heartbeat (capped). One conditional UPDATE on (holder, token, state open, the task in
    their stores), returning the new expiry on PostgreSQL (no transaction needed); 409
    `lease_lost` if the slot went to someone else or is finished."""
    if _on_postgresql():
        shape = {"superuser": associate.is_superuser}
        if token is None:
            rows = work_sql.HEARTBEAT.run(shape=shape, associate_id=associate.pk, task_id=task_id)
        else:
            rows = work_sql.HEARTBEAT_FENCED.run(shape=shape, associate_id=associate.pk, task_id=task_id, token=token)
        if len(rows) != 1:
            raise lease_lost()
        return rows[0][0]
    slots = work_sql.held_slot(associate=associate, task_id=task_id, token=token)
    with transaction.atomic():
        mine = Slot.objects.filter(task_id=task_id, holder_id=associate.pk)
        lease_seconds = mine.values_list("queue__lease_seconds", flat=True).first()
        if lease_seconds is None:
            raise lease_lost()
        lease = work_sql.expires_in(dt.timedelta(seconds=lease_seconds))
        if slots.update(**work_sql.heartbeat_changes(), lease_expires_at=lease) != 1:
            raise lease_lost()
        return mine.values_list("lease_expires_at", flat=True).get()


def _get_task_for_update(task_id: uuid.UUID, *, tasks: QuerySet[Task] | None = None) -> Task:
    try:
        return (Task.objects if tasks is None else tasks).select_for_update(of=("self",)).get(pk=task_id)
    except Task.DoesNotExist:
        raise Http404("No such task.") from None


def _lock_own_task(*, associate, task_id: uuid.UUID) -> Task:
    """The task, locked, if it is in one of the associate's stores; 404 otherwise."""
    if not _on_postgresql():
        return _get_task_for_update(task_id, tasks=tasks_for_user(associate))
    shape = {"superuser": associate.is_superuser}
    rows = work_sql.LOCK_TASK.run(shape=shape, associate_id=associate.pk, task_id=task_id)
    if not rows:
        raise Http404("No such task.")
    return work_sql.task_from_row(rows[0])


def _new_annotation(*, associate, task: Task, result: dict, submission_id: uuid.UUID) -> Annotation:
    return Annotation(
        task=task,
        store_id=task.store_id,
        associate=associate,
        kind=task.kind,
        result=result,
        submission_id=submission_id,
    )


def _submit_values(annotation: Annotation) -> dict:
    """The arguments of a submit statement (`work_sql.FINISH`, `FINISH_LABELLED`) for it."""
    return {
        "associate_id": annotation.associate_id,
        "task_id": annotation.task_id,
        "store_id": annotation.store_id,
        "annotation_id": annotation.pk,
        "kind": annotation.kind,
        "result_json": json.dumps(annotation.result),
        "submission_id": annotation.submission_id,
    }


def _finish_and_record(
    *, associate, task: Task, token: int | None, result, submission_id: uuid.UUID, read_done_at: bool
) -> Annotation | None:
    """Mark the associate's held slot of a task (locked by the caller) done, accruing its
    active time; store the annotation with that time; count it on the task, done (by the
    database clock) at its overlap. None, with nothing changed, if they no longer hold the
    slot. One statement on PostgreSQL; on SQLite `done_at` is read back only when asked
    (`read_done_at`). Unscoped: the caller locked the task within the associate's stores.
    A `submission_id` already used by the associate raises IntegrityError."""
    annotation = _new_annotation(associate=associate, task=task, result=result, submission_id=submission_id)
    if _on_postgresql():
        values = _submit_values(annotation)
        statement, fencing = (work_sql.FINISH, {}) if token is None else (work_sql.FINISH_FENCED, {"token": token})
        return _submitted(annotation, task, statement.run(**values, **fencing))
    done = task.annotations_done + 1 >= task.overlap
    slots = work_sql.held_slot(associate=associate, task_id=task.pk, token=token, scoped=False, live=True)
    if slots.update(**work_sql.finish_changes()) != 1:
        return None
    annotation.slot_id, active_seconds = Slot.objects.values_list("id", "active_seconds").get(
        task_id=task.pk, holder_id=associate.pk
    )
    annotation.active_seconds = round(active_seconds, 3)
    annotation.save(force_insert=True)
    Task.objects.filter(pk=task.pk).update(**work_sql.count_changes(done=done))
    if done and read_done_at:
        task.refresh_from_db(fields=["done_at"])
    task.annotations_done += 1
    if done:
        task.status = Task.Status.DONE
    return annotation


def _submitted(annotation: Annotation, task: Task, rows: list[tuple]) -> Annotation | None:
    """`annotation` and `task` as a PostgreSQL submit statement stored them (its answer,
    `work_sql._SUBMITTED`); None if it stored nothing (the slot is no longer theirs)."""
    if not rows:
        return None
    (
        (
            annotation.slot_id,
            annotation.active_seconds,
            annotation.created_at,
            task.done_at,
            task.status,
            task.annotations_done,
        ),
    ) = rows
    annotation._state.adding, annotation._state.db = False, "default"
    return annotation


def _retried_or_raise(error: Exception, *, associate, task_id: uuid.UUID, submission_id: uuid.UUID) -> Annotation:
    """The annotation an earlier request with this `submission_id` stored, if it was for
    this task (this submit is a retry); 409 `duplicate_submission` if it was for another;
    otherwise `error`."""
    previous = Annotation.objects.filter(associate_id=associate.pk, submission_id=submission_id).first()
    if previous is None:
        raise error
    if str(previous.task_id) != str(task_id):
        raise Conflict("This submission_id was already used for another task.", code="duplicate_submission")
    return previous


@transaction.atomic
def _submit(*, associate, task_id: uuid.UUID, result, submission_id: uuid.UUID, token: int | None) -> Annotation:
    task = _lock_own_task(associate=associate, task_id=task_id)
    # The idempotency lookup runs only when this submit cannot go through (invalid result,
    # or the slot is no longer open and theirs): a stored submission finished its slot, so a
    # retry always lands there. It is a statement of its own after the task lock: under READ
    # COMMITTED a subquery of the locking statement would keep the snapshot taken before the
    # lock wait and miss the annotation a concurrent retry just committed.
    kind = kinds.get(task.kind)
    try:
        cleaned = kind.validate_result(task, result)
    except LoupeError as error:
        return _retried_or_raise(error, associate=associate, task_id=task.pk, submission_id=submission_id)
    annotation = _finish_and_record(
        associate=associate,
        task=task,
        token=token,
        result=cleaned,
        submission_id=submission_id,
        read_done_at=kind.on_done is not None,
    )
    if annotation is None:
        return _retried_or_raise(lease_lost(), associate=associate, task_id=task.pk, submission_id=submission_id)
    kind.on_submit(task, annotation)
    if task.status == Task.Status.DONE and kind.on_done is not None:
        kind.on_done(task)
    return annotation


def _label_values(*, task: Task, label: LabelIn, submission_id: uuid.UUID) -> dict:
    """The label's arguments of `work_sql.FINISH_LABELLED`."""

    def as_json(value) -> str | None:
        return None if value is None else json.dumps(value)

    return {
        "label_id": uuid.uuid4(),
        "label_kind": label.kind,
        "verdict": label.verdict,
        "model_version": label.model_version,
        "predicted_json": as_json(label.predicted),
        "human_json": as_json(label.human),
        "snippet_id": None if label.snippet_id is None else str(label.snippet_id),
        "event_id": None if label.event_id is None else str(label.event_id),
        "provenance_json": json.dumps(submit_provenance(task=task, submission_id=submission_id)),
        "own_provenance_json": json.dumps(label.provenance),
    }


def _labelled(
    *, associate, task: Task, kind: kinds.TaskKind, cleaned: dict, submission_id: uuid.UUID
) -> tuple[Annotation, dict] | None:
    """The annotation a one-statement submit stores and the arguments of
    `work_sql.FINISH_LABELLED`; None unless the kind records exactly one label for it."""
    labels = kind.submit_labels(task, cleaned) if kind.submit_labels is not None else None
    if labels is None or len(labels) != 1:
        return None
    (label,) = labels
    annotation = _new_annotation(associate=associate, task=task, result=cleaned, submission_id=submission_id)
    return annotation, _submit_values(annotation) | _label_values(task=task, label=label, submission_id=submission_id)


def submit_sql(*, associate, task: Task, result: dict, submission_id: uuid.UUID) -> tuple[str, list]:
    """The one statement of a submit of `result` for `task` (a kind with `submit_labels`),
    unfenced, as (sql, params): for EXPLAIN (bench/claim.py --explain)."""
    kind = kinds.get(task.kind)
    cleaned = kind.validate_result(task, result)
    labelled = _labelled(associate=associate, task=task, kind=kind, cleaned=cleaned, submission_id=submission_id)
    if labelled is None:
        raise ValueError(f"A {task.kind} submit of this task is not one statement.")
    return work_sql.FINISH_LABELLED(**labelled[1])


def _submit_in_one_statement(
    *, associate, task_id: uuid.UUID, result, submission_id: uuid.UUID, token: int | None
) -> Annotation | None:
    """PostgreSQL, a kind whose submit only records one label (`TaskKind.submit_labels`, no
    `on_done`): read the task within the associate's stores (404 otherwise; no lock), check
    the result against it, then write everything in one statement that is its own
    transaction (`work_sql.FINISH_LABELLED`: it locks the task first, fences on the slot and
    decides "done" on the locked row). The result's checks need no lock: the payload they
    read never changes, and the statement stores nothing unless the slot is still theirs.
    None, before anything is written, when this task takes the transaction path."""
    shape = {"superuser": associate.is_superuser}
    rows = work_sql.READ_TASK.run(shape=shape, associate_id=associate.pk, task_id=task_id)
    if not rows:
        raise Http404("No such task.")
    task = work_sql.task_from_row(rows[0])
    kind = kinds.get(task.kind)
    if kind.submit_labels is None or kind.on_done is not None:
        return None
    try:
        cleaned = kind.validate_result(task, result)
    except LoupeError as error:
        return _retried_or_raise(error, associate=associate, task_id=task.pk, submission_id=submission_id)
    labelled = _labelled(associate=associate, task=task, kind=kind, cleaned=cleaned, submission_id=submission_id)
    if labelled is None:
        return None
    annotation, values = labelled
    # Inside a caller's transaction, a savepoint: a twin's unique violation leaves it usable.
    with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
        if token is None:
            rows = work_sql.FINISH_LABELLED.run(**values)
        else:
            rows = work_sql.FINISH_LABELLED_FENCED.run(**values, token=token)
    if _submitted(annotation, task, rows) is None:
        return _retried_or_raise(lease_lost(), associate=associate, task_id=task.pk, submission_id=submission_id)
    return annotation


def task_submit(
    *, associate, task_id: uuid.UUID, result, submission_id: uuid.UUID, token: int | None = None
) -> Annotation:
    """Store the associate's result for a task they hold, once.

    Locks the task row, 404 unless it is in one of the associate's stores (submits of one
    task serialize; this also makes the idempotency check exact). Then, in effect: the same
    `submission_id` again returns the stored annotation (a retry after success is a success;
    the same id on another task is 409 `duplicate_submission`); the result fits the kind
    (400 with `field`); the slot is still this associate's (one conditional UPDATE to state
    done, fencing on holder and token; otherwise 409 `lease_lost` and nothing is stored).
    Then stores the annotation with the server-measured active time, counts it on the task
    (marking the task done at its overlap) and runs the kind's on_submit (and on_done) hooks
    in the same transaction.

    Round trips on PostgreSQL: for a kind that records one label on submit (a snippet), two:
    the task's read, then one statement for everything (`_submit_in_one_statement`).
    Otherwise the task's lock, one statement that finishes the slot, stores the annotation
    and counts it (`work_sql.FINISH`), then the kind's hooks, plus BEGIN and COMMIT (and the
    read before them, which told the kind).
    """
    try:
        if _on_postgresql():
            annotation = _submit_in_one_statement(
                associate=associate, task_id=task_id, result=result, submission_id=submission_id, token=token
            )
            if annotation is not None:
                return annotation
        return _submit(associate=associate, task_id=task_id, result=result, submission_id=submission_id, token=token)
    except IntegrityError as error:
        # Backstop of unique (associate, submission_id): a concurrent twin got there first,
        # or the id was used for another task. Without such an annotation the violation was
        # another one (data the caller cannot fix): it propagates.
        return _retried_or_raise(error, associate=associate, task_id=task_id, submission_id=submission_id)


@transaction.atomic
def task_release(*, associate, task_id: uuid.UUID, reason: str, token: int | None = None) -> None:
    """Give a held task back (skip). Frees the slot with a bumped token in one conditional
    UPDATE (409 `lease_lost` if it is no longer theirs) and records a TaskExclusion so this
    associate is not offered the task again."""
    slots = Slot.objects.filter(task_id=task_id, holder_id=associate.pk, state=OPEN)
    if token is not None:
        slots = slots.filter(lease_token=token)
    if slots.update(**work_sql.free_changes()) != 1:
        raise lease_lost()
    TaskExclusion.objects.get_or_create(
        task_id=task_id, user_id=associate.pk, defaults={"cause": TaskExclusion.Cause.RELEASED, "reason": reason}
    )


# Supervisor actions -------------------------------------------------------------------------


def _check_supervises(supervisor, store_id: int) -> None:
    if not stores_for_user(supervisor).filter(pk=store_id).exists():
        raise Http404("No such task.")
    if not is_supervisor(supervisor):
        raise LoupeError(
            "Only supervisors may do this.", code="permission_denied", status_code=status.HTTP_403_FORBIDDEN
        )


@transaction.atomic
def lease_release(*, supervisor, slot_id: int) -> None:
    """Free a stuck lease (the holder's page is gone, or they are). Locks the slot; the
    holder's next heartbeat or submit gets 409 `lease_lost`. The holder is not excluded: the
    task may come back to them."""
    slot = Slot.objects.select_for_update().filter(pk=slot_id).values_list("task__store_id", flat=True).first()
    if slot is None:
        raise Http404("No such lease.")
    _check_supervises(supervisor, slot)
    leased = Slot.objects.filter(pk=slot_id, state=OPEN, holder__isnull=False)
    if leased.update(**work_sql.free_changes()) != 1:
        raise Conflict("This slot is not leased.", code="not_leased")


def task_reassign(*, supervisor, task_id: uuid.UUID, associate) -> Lease:
    """Give a task to a named associate, now.

    The associate must be able to claim from the task's queue (associate role, store grant,
    queue membership). Locks the associate's user row, the task, then the slot it moves: a
    free slot if there is one, else the one whose holder was silent longest (that holder gets
    409 `lease_lost`). A supervisor overrides an earlier skip: the associate's exclusion from
    the task is lifted. 409 if the task is finished or the associate already annotated it,
    and 409 `associate_busy` if they hold a live lease on another task of the queue (one open
    slot per associate per queue: release it first); an expired one of theirs, which nobody
    took yet, goes back to the queue.
    """
    try:
        return _reassign(supervisor=supervisor, task_id=task_id, associate=associate)
    except IntegrityError:
        # Their own claim (which takes no user lock) leased a slot of this queue meanwhile.
        raise _associate_busy() from None


def _associate_busy() -> Conflict:
    return Conflict(
        "This associate is working on another task of this queue; release that lease first.", code="associate_busy"
    )


@transaction.atomic
def _reassign(*, supervisor, task_id: uuid.UUID, associate) -> Lease:
    task_row = Task.objects.filter(pk=task_id).values_list("store_id", "queue_id").first()
    if task_row is None:
        raise Http404("No such task.")
    _check_supervises(supervisor, task_row[0])
    if not is_associate(associate) or not queues_for_associate(associate).filter(pk=task_row[1]).exists():
        raise LoupeError("This person cannot work on this queue.", code="not_eligible", field="associate")
    _lock_user(associate.pk)
    task = _get_task_for_update(task_id)
    if task.status != Task.Status.OPEN:
        raise Conflict("This task is finished.", code="task_closed")
    lease_seconds = Queue.objects.values_list("lease_seconds", flat=True).get(pk=task.queue_id)
    own = Slot.objects.filter(task_id=task.pk, holder_id=associate.pk).values_list("id", "state").first()
    if own is not None and own[1] != OPEN:
        raise Conflict("This associate already annotated this task.", code="already_annotated")
    elsewhere = Slot.objects.filter(holder_id=associate.pk, queue_id=task.queue_id, state=OPEN).exclude(task_id=task.pk)
    if elsewhere.filter(lease_expires_at__gte=Now()).exists():
        raise _associate_busy()
    elsewhere.update(**work_sql.free_changes())
    if own is not None:
        slot_id = own[0]
    else:
        free_first = Case(When(LEASE_FREE, then=Value(0)), default=Value(1))
        slot_id = (
            Slot.objects.filter(task_id=task.pk, state=OPEN)
            .select_for_update()
            .order_by(free_first, F("last_heartbeat_at").asc(nulls_first=True), "index")
            .values_list("id", flat=True)
            .first()
        )
        if slot_id is None:
            raise Conflict("This task has no open slot.", code="task_closed")
    TaskExclusion.objects.filter(task_id=task.pk, user_id=associate.pk).delete()
    lease = dt.timedelta(seconds=lease_seconds)
    Slot.objects.filter(pk=slot_id).update(**work_sql.claim_changes(associate_id=associate.pk, lease=lease))
    return _lease_of(slot_id)


@transaction.atomic
def task_set_priority(*, supervisor, task_id: uuid.UUID, priority: int) -> Task:
    """Change a task's priority and its slots' copies of it (the claim reads the copies).
    Locks the task row."""
    task = _get_task_for_update(task_id)
    _check_supervises(supervisor, task.store_id)
    task.priority = priority
    task.save(update_fields=["priority"])
    Slot.objects.filter(task_id=task.pk).update(priority=priority)
    return task
