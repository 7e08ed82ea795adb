"""The queue engine's statements on PostgreSQL: one round trip each, compiled once per process.

Django 5.2's `update()` cannot return rows, so each hot statement here is the ORM's own
UPDATE (the same filters and expressions `annotator.services.work` uses on SQLite, compiled by
Django) with a RETURNING clause added, or a data-modifying CTE that also reads the leased
task. Each is a `catalog.prepared.Prepared`: built with sentinels once, then re-run with the
real ids, so a claim or a submit spends its time in the database rather than in the ORM.

Every UPDATE filters on slot columns only: a filter across a relation makes Django move the
whole WHERE into an `id IN (SELECT …)` subquery, and then PostgreSQL would not re-check the
fencing conditions on a row a concurrent writer changed while this statement waited for its
lock.
"""

import datetime as dt
import re
import uuid

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    PositiveBigIntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    sql,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Least, Now

from annotator.access import queues_for_associate, tasks_for_user
from annotator.models import Annotation, Label, Queue, Slot, Task, TaskExclusion
from annotator.services.labels import FEED_LOCK_SHARED, TXID
from catalog.prepared import Prepared, model_from_row

# The claim order; it matches the partial index `slot_claim_order` column for column.
CLAIM_ORDER = ("-priority", "due_at", "created_at", "id")
# Active time added by one heartbeat is capped, so a page left open without heartbeats
# (laptop asleep, tab frozen) does not accrue time.
ACTIVE_CAP_SECONDS = 60.0

OPEN = Slot.State.OPEN
LEASE_FREE = Q(holder__isnull=True) | Q(lease_expires_at__lt=Now())


class _SecondsSince(Func):
    """Seconds from a timestamp to the database's current time."""

    arity = 1
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "EXTRACT(EPOCH FROM (STATEMENT_TIMESTAMP() - %(expressions)s))::double precision"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "((julianday('now') - julianday(%(expressions)s)) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)


def expires_in(length: dt.timedelta | Expression) -> ExpressionWrapper:
    """The database's now + `length` (a timedelta, or an interval the statement computes)."""
    if isinstance(length, dt.timedelta):
        length = Value(length, output_field=DurationField())
    return ExpressionWrapper(Now() + length, output_field=DateTimeField())


def accrued_active_seconds() -> Func:
    """active_seconds + min(now - last heartbeat, cap): time counts only while heartbeats flow."""
    gap = Coalesce(_SecondsSince(F("last_heartbeat_at")), Value(0.0))
    return F("active_seconds") + Least(Greatest(gap, Value(0.0)), Value(ACTIVE_CAP_SECONDS))


def stand_in(user_id: int, *, superuser: bool):
    """A user object for building a statement's access filters (they read only these two)."""
    return get_user_model()(pk=user_id, is_superuser=superuser)


def claimable_slots(*, associate_id: int, queue_id: uuid.UUID) -> QuerySet[Slot]:
    """Open slots of one queue this associate may be offered, in claim order: lease free or
    expired, no other slot of the task held (or done) by them, not excluded from the task.

    Both "not mine" probes must be one index lookup per candidate, by the candidate's task
    (the leading column of the unique (task, holder) and (task, user) constraints, a few rows
    at most), never a pass over everything this associate ever held, which grows with their
    history. PostgreSQL plans exactly that pass whenever its statistics are stale (a busy
    queue's first hours, before autovacuum's ANALYZE) and say the associate holds one slot:
    a NOT EXISTS becomes an anti-join or a hashed subplan over the associate's slots, and
    even a per-candidate probe goes through the holder index. Hence (1) a scalar subquery,
    `(SELECT id … LIMIT 1) IS NULL`, which is never pulled up into a join or hashed, and
    (2) the associate compared through COALESCE, which no index on the holder or user column
    can serve, so the task's index is the only way in. bench/claim.py --explain checks it."""
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
    return (
        Slot.objects.filter(queue_id=queue_id, state=OPEN)
        .filter(LEASE_FREE)
        .alias(mine=Subquery(mine), excluded=Subquery(excluded))
        .filter(mine__isnull=True, excluded__isnull=True)
        .order_by(*CLAIM_ORDER)
    )


def claim_changes(*, associate_id: int, lease: dt.timedelta | Expression) -> dict:
    return {
        "holder_id": associate_id,
        "lease_token": F("lease_token") + 1,
        "leased_at": Now(),
        "lease_expires_at": expires_in(lease),
        "last_heartbeat_at": Now(),
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


def resume_changes(*, lease: dt.timedelta | Expression) -> dict:
    """A live lease is extended like a heartbeat; an expired one (nobody took it) is leased
    afresh with a bumped token."""
    expired = Q(lease_expires_at__lt=Now())
    return {
        "lease_token": Case(
            When(expired, then=F("lease_token") + 1), default=F("lease_token"), output_field=PositiveBigIntegerField()
        ),
        "leased_at": Case(When(expired, then=Now()), default=F("leased_at"), output_field=DateTimeField()),
        "active_seconds": Case(
            When(expired, then=F("active_seconds")), default=accrued_active_seconds(), output_field=FloatField()
        ),
        "lease_expires_at": expires_in(lease),
        "last_heartbeat_at": Now(),
    }


def held_slot(
    *, associate, task_id: uuid.UUID, token: int | None, scoped: bool = True, live: bool = False
) -> QuerySet[Slot]:
    """The associate's open slot of a task (at most one: unique (task, holder)), fenced on
    `token` when given, only while its lease has not run out (`live`, by the database clock:
    a submit's), and (`scoped`) only while the task is in one of their stores: an UPDATE of
    it that changes a row proves the caller holds the lease *and* may see the task."""
    slots = Slot.objects.filter(task_id=task_id, holder_id=associate.pk, state=OPEN)
    if live:
        slots = slots.filter(lease_expires_at__gte=Now())
    if scoped:
        slots = slots.filter(Exists(tasks_for_user(associate).filter(pk=OuterRef("task_id"))))
    return slots if token is None else slots.filter(lease_token=token)


def expires_in_own_queue() -> ExpressionWrapper:
    """now + the slot's queue's lease length, read in the same statement (PostgreSQL: Django
    cannot multiply an interval on SQLite)."""
    seconds = Subquery(Queue.objects.filter(pk=OuterRef("queue_id")).values("lease_seconds")[:1])
    length = ExpressionWrapper(seconds * Value(dt.timedelta(seconds=1)), output_field=DurationField())
    return ExpressionWrapper(Now() + length, output_field=DateTimeField())


def heartbeat_changes() -> dict:
    """A heartbeat's changes but the new expiry (which depends on the database)."""
    return {"active_seconds": accrued_active_seconds(), "last_heartbeat_at": Now()}


def count_changes(*, done: bool) -> dict:
    """One more annotation on a task; done (by the database clock) at its overlap, `done`
    read by the caller under the task's lock (SQLite; PostgreSQL's submit statements use
    `count_changes_at_overlap`)."""
    changes = {"annotations_done": F("annotations_done") + 1}
    if done:
        changes |= {"status": Task.Status.DONE, "done_at": Now()}
    return changes


def finish_changes() -> dict:
    return {"state": Slot.State.DONE, "active_seconds": accrued_active_seconds(), "last_heartbeat_at": Now()}


# Building blocks -----------------------------------------------------------------------------


def update_sql(rows: QuerySet, changes: dict) -> tuple[str, tuple]:
    """The SQL of `rows.update(**changes)`, built the way `QuerySet.update()` builds it."""
    query = rows.query.chain(sql.UpdateQuery)
    query.add_update_values(changes)
    query.clear_select_clause()
    return query.get_compiler(rows.db).as_sql()


def update_returning_sql(rows: QuerySet, changes: dict, columns: tuple[str, ...]) -> tuple[str, tuple]:
    """`rows.update(**changes)` returning `columns` of the changed rows."""
    update, params = update_sql(rows, changes)
    qn = connection.ops.quote_name
    table = qn(rows.model._meta.db_table)
    returning = ", ".join(f"{table}.{qn(rows.model._meta.get_field(c).column)}" for c in columns)
    return f"{update} RETURNING {returning}", params


def lease_sql(*updates: tuple[QuerySet[Slot], dict]) -> tuple[str, tuple]:
    """One statement that applies each (target, changes) to the slot of its target and
    answers the leases with their whole task rows: a data-modifying CTE per update, joined to
    the task. All run on one snapshot; with several, make at most one of them match."""
    ctes, params, answer = _lease_parts(*updates)
    return f"WITH {', '.join(ctes)} {answer}", params


def _lease_parts(*updates: tuple[QuerySet[Slot], dict]) -> tuple[list[str], tuple, str]:
    """`lease_sql`'s CTEs, their params and the SELECT that answers the leases."""
    qn = connection.ops.quote_name
    slot, task = qn(Slot._meta.db_table), qn(Task._meta.db_table)
    task_columns = ", ".join(f"{task}.{qn(field.column)}" for field in Task._meta.concrete_fields)
    returning = ", ".join(f"{slot}.{qn(column)}" for column in ("id", "lease_token", "lease_expires_at", "task_id"))
    ctes, params = [], []
    for n, (target, changes) in enumerate(updates):
        update, update_params = update_sql(target, changes)
        ctes.append(f"leased_{n} AS ({update} RETURNING {returning})")
        params.extend(update_params)
    leased = " UNION ALL ".join(f"SELECT * FROM leased_{n}" for n in range(len(updates)))  # noqa: S608
    # Only Django's compiled UPDATEs and quoted model names go into the text; values are params.
    answer = (
        f"SELECT leased.{qn('id')}, leased.{qn('lease_token')}, leased.{qn('lease_expires_at')}, {task_columns} "  # noqa: S608
        f"FROM ({leased}) AS leased JOIN {task} ON {task}.{qn('id')} = leased.{qn('task_id')}"
    )
    return ctes, tuple(params), answer


def task_from_row(values) -> Task:
    return model_from_row(Task, values)


# The statements ------------------------------------------------------------------------------


def eligible_queues(*, associate, queue_id: uuid.UUID | None = None) -> QuerySet[Queue]:
    """The queues the associate may claim from now: member, store granted, not paused
    (`queue_id` only, if given)."""
    eligible = queues_for_associate(associate).filter(is_paused=False)
    return eligible if queue_id is None else eligible.filter(pk=queue_id)


def claim_start_rows(*, associate, queue_id: uuid.UUID | None = None) -> QuerySet:
    """The associate's user row, locked (FOR NO KEY UPDATE, as `work._lock_user`), with the
    queues they may claim from now (`eligible_queues`) and their lease lengths, as (queue id,
    lease seconds) rows. Without such a queue nothing is locked."""
    return (
        get_user_model()
        .objects.select_for_update(of=("self",), no_key=True)
        .filter(pk=associate.pk, queues__in=eligible_queues(associate=associate, queue_id=queue_id))
        .values_list("queues__id", "queues__lease_seconds")
    )


def eligible_queue_rows(*, associate, queue_id: uuid.UUID | None = None) -> QuerySet:
    """(queue id, lease seconds) of the queues the associate may claim from now. Nothing
    locked."""
    return eligible_queues(associate=associate, queue_id=queue_id).order_by().values_list("id", "lease_seconds")


def _claim_start(*, associate_id: int, superuser: bool, queue_id: uuid.UUID | None = None) -> tuple[str, tuple]:
    rows = claim_start_rows(associate=stand_in(associate_id, superuser=superuser), queue_id=queue_id)
    return rows.query.sql_with_params()


CLAIM_START = Prepared(_claim_start, associate_id=int)
CLAIM_START_IN_QUEUE = Prepared(_claim_start, associate_id=int, queue_id=uuid.UUID)


def _held(*, associate_id: int) -> tuple[str, tuple]:
    """The open slots the associate holds (usually none), in claim order. A statement of its
    own after the user lock: under READ COMMITTED a probe inside the locking statement would
    keep the snapshot taken before the lock wait and miss the slot a concurrent claim by the
    same associate (another tab) just leased."""
    held = Slot.objects.filter(holder_id=associate_id, state=OPEN).order_by(*CLAIM_ORDER)
    return held.values_list("id", "queue_id").query.sql_with_params()


HELD = Prepared(_held, associate_id=int)


def _held_in(*, associate_id: int, queue_id: uuid.UUID | Expression) -> QuerySet[Slot]:
    """The associate's open slot of a queue: at most one (`slot_one_held_per_queue`), so no
    order, and a lookup in that unique index. Ordered, PostgreSQL may read the queue's
    `slot_claim_order` in order filtering on the holder: the whole queue when they hold
    nothing, whenever the statistics count many (done) slots of theirs."""
    return Slot.objects.filter(holder_id=associate_id, state=OPEN, queue_id=queue_id)


def _claim_target(*, associate_id: int, queue_id: uuid.UUID | Expression, unless_held: bool = False) -> QuerySet[Slot]:
    candidates = claimable_slots(associate_id=associate_id, queue_id=queue_id).select_for_update(skip_locked=True)
    if unless_held:
        # Uncorrelated: a one-time filter, so nothing is scanned or locked when one is held.
        candidates = candidates.filter(~Exists(_held_in(associate_id=associate_id, queue_id=queue_id)))
    return Slot.objects.filter(Q(state=OPEN) & LEASE_FREE, pk=Subquery(candidates.values("pk")[:1]))


def _claim(*, associate_id: int, queue_id: uuid.UUID, lease: dt.timedelta) -> tuple[str, tuple]:
    """Lease the first claimable slot of a queue and read its task. The candidate is a scalar
    subquery (`id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)`, an InitPlan run once, so at
    most one row changes; `id IN (…)` could be re-run per row); the guard (still open, lease
    free) is in the UPDATE's WHERE, so PostgreSQL re-checks it on the newest version of a row
    a concurrent writer changed meanwhile."""
    target = _claim_target(associate_id=associate_id, queue_id=queue_id)
    return lease_sql((target, claim_changes(associate_id=associate_id, lease=lease)))


CLAIM = Prepared(_claim, associate_id=int, queue_id=uuid.UUID, lease=dt.timedelta)


def _resume(*, slot_id: int, associate_id: int, lease: dt.timedelta) -> tuple[str, tuple]:
    """Extend or renew the associate's own slot, conditional on the holder: another associate
    may have claimed it since it expired."""
    target = Slot.objects.filter(pk=slot_id, holder_id=associate_id, state=OPEN)
    return lease_sql((target, resume_changes(lease=lease)))


RESUME = Prepared(_resume, slot_id=int, associate_id=int, lease=dt.timedelta)


# One associate's claims, an advisory lock on (CLAIM_LOCK, their user id): the one-statement
# claim holds it shared until it commits (taken before it leases anything), the long way
# exclusively before it looks, so the long way sees what a claim of another tab of theirs
# leased instead of skipping that locked slot and answering nothing.
CLAIM_LOCK = 0x4C6F7570  # "Loup"
CLAIM_LOCK_SHARED = f"pg_advisory_xact_lock_shared({CLAIM_LOCK:d}, %s)"
CLAIM_LOCK_EXCLUSIVE = f"SELECT pg_advisory_xact_lock({CLAIM_LOCK:d}, %s)"


def _take_only(*, associate_id: int, superuser: bool, queue_id: uuid.UUID | None = None) -> tuple[str, tuple]:
    """The usual claim, for an associate of one queue, in one statement that is its own
    transaction. The queues they may claim from now (`eligible_queues`, `queue_id` only if
    given) are a CTE; when there is exactly one, their open slot of it is resumed (a live
    lease extended, an expired one leased afresh), or else the first claimable slot is
    leased, with that queue's lease length. Answers one row: how many queues they may claim
    from, then the lease's columns and its task's (NULLs when nothing was leased: no queue,
    several, nothing to claim, or their held slot went to someone else meanwhile). The
    caller then answers None (no queue) or takes the long way.

    No lock on the associate's row: two tabs of theirs claiming at once may both find
    nothing held and lease two slots, and the unique `slot_one_held_per_queue` then refuses
    the second (IntegrityError; the retry resumes the first). `CLAIM_LOCK_SHARED` lets the
    long way wait for this statement. Django compiles a FOR UPDATE only inside a
    transaction, hence the atomic block around the build (without a savepoint it sends
    nothing to the database)."""
    with transaction.atomic(savepoint=False):
        associate = stand_in(associate_id, superuser=superuser)
        eligible, eligible_params = eligible_queue_rows(associate=associate, queue_id=queue_id).query.sql_with_params()
        only = RawSQL("(SELECT only_queue.id FROM only_queue)", ())
        seconds = RawSQL("(SELECT only_queue.lease_seconds FROM only_queue)", ())
        lease = ExpressionWrapper(seconds * Value(dt.timedelta(seconds=1)), output_field=DurationField())
        held = _held_in(associate_id=associate_id, queue_id=only)
        resume = Slot.objects.filter(pk=Subquery(held.values("pk")[:1]), holder_id=associate_id, state=OPEN)
        claim = _claim_target(associate_id=associate_id, queue_id=only, unless_held=True)
        ctes, params, answer = _lease_parts(
            (resume, resume_changes(lease=lease)), (claim, claim_changes(associate_id=associate_id, lease=lease))
        )
    # Only Django's compiled SQL, quoted names and fixed SQL go into the text; values are params.
    statement = (
        f"WITH eligible (id, lease_seconds) AS ({eligible}), "  # noqa: S608
        "only_queue AS (SELECT eligible.id, eligible.lease_seconds FROM eligible "
        f"WHERE (SELECT count(*) FROM eligible) = 1 AND {CLAIM_LOCK_SHARED} IS NOT NULL), "
        f"{', '.join(ctes)} "
        "SELECT (SELECT count(*) FROM eligible), taken.* "
        f"FROM (SELECT 1) AS one LEFT JOIN ({answer}) AS taken ON TRUE"
    )
    return statement, (*eligible_params, associate_id, *params)


TAKE_ONLY = Prepared(_take_only, associate_id=int)
TAKE_ONLY_IN_QUEUE = Prepared(_take_only, associate_id=int, queue_id=uuid.UUID)


def _heartbeat(*, associate_id: int, task_id: uuid.UUID, superuser: bool, token: int | None = None):
    associate = stand_in(associate_id, superuser=superuser)
    slots = held_slot(associate=associate, task_id=task_id, token=token)
    changes = heartbeat_changes() | {"lease_expires_at": expires_in_own_queue()}
    return update_returning_sql(slots, changes, ("lease_expires_at",))


HEARTBEAT = Prepared(_heartbeat, associate_id=int, task_id=uuid.UUID)
HEARTBEAT_FENCED = Prepared(_heartbeat, associate_id=int, task_id=uuid.UUID, token=int)


def _finished_and_recorded(
    *,
    associate_id: int,
    task_id: uuid.UUID,
    store_id: int,
    annotation_id: uuid.UUID,
    kind: str,
    result_json: str,
    submission_id: uuid.UUID,
    token: int | None = None,
    after: str = "",
) -> tuple[list[str], tuple]:
    """The CTEs `finished` (the associate's held slot of the task marked done, accruing its
    active time; `after`: an extra condition of that UPDATE, e.g. on a CTE before it) and
    `recorded` (the annotation with that time, rounded to the millisecond, and the
    database's clock; only if the slot was still theirs), with their params. A
    `submission_id` the associate already used fails on its unique constraint."""
    slots = held_slot(
        associate=stand_in(associate_id, superuser=False), task_id=task_id, token=token, scoped=False, live=True
    )
    finish, finish_params = update_returning_sql(slots, finish_changes(), ("id", "active_seconds"))
    if after:
        # Django's UPDATE of one table, its filters joined by AND: one more joins with AND.
        where, returning = finish.rsplit(" RETURNING ", 1)
        finish = f"{where} AND {after} RETURNING {returning}"
    qn = connection.ops.quote_name
    table = qn(Annotation._meta.db_table)
    columns = ", ".join(
        qn(Annotation._meta.get_field(name).column)
        for name in (
            "id",
            "task",
            "slot",
            "store",
            "associate",
            "kind",
            "result",
            "submission_id",
            "active_seconds",
            "created_at",
        )
    )
    ctes = [
        f"finished AS ({finish})",
        f"recorded AS (INSERT INTO {table} ({columns}) "  # noqa: S608
        "SELECT %s, %s, finished.id, %s, %s, %s, %s::jsonb, %s, "
        "ROUND(finished.active_seconds::numeric, 3)::double precision, STATEMENT_TIMESTAMP() FROM finished "
        f"RETURNING {table}.{qn('active_seconds')}, {table}.{qn('created_at')})",
    ]
    insert_params = (annotation_id, task_id, store_id, associate_id, kind, result_json, submission_id)
    return ctes, (*finish_params, *insert_params)


def _counted(task_id: uuid.UUID) -> tuple[str, tuple]:
    """The CTE `counted`: one more annotation on the task (`count_changes_at_overlap`), only
    if `recorded` stored it; returns the task's done_at, status and count. The task's UPDATE
    filters on its primary key alone, so the guard joins its WHERE with a plain AND."""
    rows = Task.objects.filter(pk=task_id)
    count, params = update_returning_sql(rows, count_changes_at_overlap(), ("done_at", "status", "annotations_done"))
    where, returning = count.rsplit(" RETURNING ", 1)
    return f"counted AS ({where} AND EXISTS (SELECT 1 FROM recorded) RETURNING {returning})", params  # noqa: S608


# What a submit statement answers: (slot id, active seconds, created_at, the task's done_at,
# status and annotations_done), no row if the slot is no longer the associate's.
_SUBMITTED = (
    "SELECT finished.id, recorded.active_seconds, recorded.created_at, "
    "counted.done_at, counted.status, counted.annotations_done "
    "FROM finished JOIN recorded ON TRUE LEFT JOIN counted ON TRUE"
)


def _finish(**submit):
    """A submit's writes but its kind's, in one statement of three data-modifying CTEs on one
    snapshot: `_finished_and_recorded`, then the annotation counted on the task. Answers
    `_SUBMITTED`. Unscoped: the submit locked the task within the associate's stores first."""
    ctes, params = _finished_and_recorded(**submit)
    counted, count_params = _counted(submit["task_id"])
    statement = f"WITH {', '.join(ctes)}, {counted} {_SUBMITTED}"
    return statement, (*params, *count_params)


def count_changes_at_overlap() -> dict:
    """`count_changes`, done or not decided by the row itself: the UPDATE's lock makes
    concurrent submits of one task count one after the other, each seeing the last count."""
    reaches = Q(annotations_done__gte=F("overlap") - 1)
    return {
        "annotations_done": F("annotations_done") + 1,
        "status": Case(When(reaches, then=Value(Task.Status.DONE)), default=F("status")),
        "done_at": Case(When(reaches, then=Now()), default=F("done_at")),
    }


# The label a one-statement submit records: every column of `Label` but its `seq` (drawn by
# the INSERT, after the feed's lock). Names of the params are those of `_finish_labelled`.
_LABEL_VALUES = {
    "id": "%(label_id)s",
    "txid": TXID,
    "store": "%(store_id)s",
    "kind": "%(label_kind)s",
    "task": "%(task_id)s",
    "annotation": "%(annotation_id)s",
    "associate": "%(associate_id)s",
    "created_at": "recorded.created_at",
    "model_version": "%(model_version)s",
    "predicted": "%(predicted_json)s::jsonb",
    "human": "%(human_json)s::jsonb",
    "verdict": "%(verdict)s",
    "snippet": "%(snippet_id)s::uuid",
    "event_id": "%(event_id)s::uuid",
    "erased_at": "NULL",  # a new label is never erased (annotator.services.retention)
    # As `labels.label_record` writes it: the submit's provenance, its active time and time
    # (ISO 8601 with microseconds, UTC), then the label's own.
    "provenance": "(%(provenance_json)s::jsonb || jsonb_build_object('active_seconds', recorded.active_seconds, "
    "'submitted_at', to_char(recorded.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')))"
    " || %(own_provenance_json)s::jsonb",
}


def _finish_labelled(*, token: int | None = None, **arguments):
    """A whole submit of a kind whose only write is one label (`TaskKind.submit_labels`), in
    one statement and its own transaction: lock the task (FOR NO KEY UPDATE, first, as the
    transaction path and a reassign do), `_finished_and_recorded`, count the annotation (done
    when the count reaches the overlap, decided by the locked row), and record the label as
    `labels.label_record` does: under the feed's shared lock, taken before its `seq` is
    drawn, stamped with the transaction's id. `arguments`: `_finished_and_recorded`'s and the
    label's (`_LABEL`, as `_LABEL_VALUES` names them). Answers `_SUBMITTED`. Unscoped: the
    caller read the task within the associate's stores."""
    submit = {name: arguments[name] for name in (*_SUBMIT, "submission_id")}
    qn = connection.ops.quote_name
    task = qn(Task._meta.db_table)
    locked = f"locked AS (SELECT {task}.{qn('id')} FROM {task} WHERE {task}.{qn('id')} = %s FOR NO KEY UPDATE)"  # noqa: S608
    ctes, params = _finished_and_recorded(**submit, token=token, after="EXISTS (SELECT 1 FROM locked)")
    counted, count_params = _counted(submit["task_id"])
    label = Label._meta
    fields = [field for field in label.concrete_fields if field is not label.pk]
    if {field.name for field in fields} != set(_LABEL_VALUES):
        raise ValueError("_LABEL_VALUES must name every column of Label but seq.")
    label_params: list = []

    def value(template: str) -> str:
        def param(match: re.Match) -> str:
            label_params.append(arguments[match.group(1)])
            return "%s"

        return re.sub(r"%\((\w+)\)s", param, template)

    labelled = (
        f"labelled AS (INSERT INTO {qn(label.db_table)} ({', '.join(qn(field.column) for field in fields)}) "  # noqa: S608
        f"SELECT {', '.join(value(_LABEL_VALUES[field.name]) for field in fields)} FROM recorded "
        f"WHERE {FEED_LOCK_SHARED} IS NOT NULL)"
    )
    statement = f"WITH {locked}, {', '.join(ctes)}, {counted}, {labelled} {_SUBMITTED}"
    return statement, (submit["task_id"], *params, *count_params, *label_params)


_SUBMIT = {
    "associate_id": int,
    "task_id": uuid.UUID,
    "store_id": int,
    "annotation_id": uuid.UUID,
    "kind": str,
    "result_json": str,
}
FINISH = Prepared(_finish, **_SUBMIT, submission_id=uuid.UUID)
FINISH_FENCED = Prepared(_finish, **_SUBMIT, submission_id=uuid.UUID, token=int)
_LABEL = {
    "label_id": uuid.UUID,
    "label_kind": str,
    "verdict": str,
    "model_version": str,
    "predicted_json": str,
    "human_json": str,
    "snippet_id": str,
    "event_id": str,
    "provenance_json": str,
    "own_provenance_json": str,
}
FINISH_LABELLED = Prepared(_finish_labelled, **_SUBMIT, submission_id=uuid.UUID, **_LABEL)
FINISH_LABELLED_FENCED = Prepared(_finish_labelled, **_SUBMIT, submission_id=uuid.UUID, token=int, **_LABEL)


def _lock_task(*, associate_id: int, task_id: uuid.UUID, superuser: bool):
    """The task row, locked, if it is in one of the associate's stores."""
    tasks = tasks_for_user(stand_in(associate_id, superuser=superuser))
    return tasks.select_for_update(of=("self",)).filter(pk=task_id).query.sql_with_params()


# A superuser's tasks are every store's: that shape's statement names no associate.
LOCK_TASK = Prepared(_lock_task, associate_id=int, task_id=uuid.UUID, unused_in={"superuser": True})


def _read_task(*, associate_id: int, task_id: uuid.UUID, superuser: bool):
    """The task row, if it is in one of the associate's stores; no lock."""
    return tasks_for_user(stand_in(associate_id, superuser=superuser)).filter(pk=task_id).query.sql_with_params()


READ_TASK = Prepared(_read_task, associate_id=int, task_id=uuid.UUID, unused_in={"superuser": True})
