"""Supervisors' queue control: one service per action, each with the lock, the change and its
record in the audit trail (`catalog.ControlAction`: who, when, what, old → new) in one
transaction, and one access check (`_check`: 404 outside the supervisor's stores, 403 for
someone who is not a supervisor). Callers (the console's views) find the objects through
`annotator.access.*_for_supervisor` first.
"""

import uuid

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Now
from django.http import Http404
from rest_framework import status

from annotator.access import queues_for_associate
from annotator.models import Queue, QueueMembership, Slot, Task, TaskExclusion
from annotator.services.people import queue_membership_set
from annotator.services.work import LEASE_FREE, OPEN, Lease, free_changes, lease_changes
from catalog import roles
from catalog.access import stores_for_user
from catalog.models import Store, StoreAccess
from catalog.services.policy import control_record
from infra.errors import Conflict, LoupeError

PRIORITY_LIMIT = 1000


def _check(supervisor, store_id: int) -> None:
    """The one access check of every action: 404 outside the supervisor's stores, 403 for
    anyone who is not a supervisor."""
    if not stores_for_user(supervisor).filter(pk=store_id).exists():
        raise Http404("No such object.")
    if not roles.is_supervisor(supervisor):
        raise LoupeError(
            "Only supervisors may do this.", code="permission_denied", status_code=status.HTTP_403_FORBIDDEN
        )


def _lock_task(task_id: uuid.UUID) -> Task:
    task = Task.objects.select_for_update(of=("self",)).filter(pk=task_id).first()
    if task is None:
        raise Http404("No such task.")
    return task


@transaction.atomic
def queue_pause_set(*, supervisor, queue: Queue, paused: bool) -> bool:
    """Pause (claims offer nothing from it; leases already held run on) or resume a queue.
    Locks the queue row. Returns whether the state changed; a no-op is not recorded."""
    _check(supervisor, queue.store_id)
    locked = Queue.objects.select_for_update().get(pk=queue.pk)
    if locked.is_paused == paused:
        return False
    locked.is_paused = paused
    locked.save(update_fields=["is_paused"])
    queue.is_paused = paused
    control_record(
        store_id=queue.store_id,
        actor=supervisor,
        action="queue_pause" if paused else "queue_resume",
        target=f"queue:{queue.pk}",
        old={"is_paused": not paused},
        new={"is_paused": paused},
    )
    return True


def priority_check(value) -> int:
    """A priority from a form or JSON: a whole number within ±PRIORITY_LIMIT."""
    if isinstance(value, bool):
        value = None
    try:
        priority = value if isinstance(value, int) else int(str(value).strip())
    except (TypeError, ValueError):
        priority = None
    if priority is None or not -PRIORITY_LIMIT <= priority <= PRIORITY_LIMIT:
        raise LoupeError(
            f"Priority is a whole number from {-PRIORITY_LIMIT} to {PRIORITY_LIMIT}.",
            code="invalid_priority",
            field="priority",
        )
    return priority


@transaction.atomic
def task_priority_set(*, supervisor, task_id: uuid.UUID, priority) -> Task:
    """Change a task's priority and its slots' copies of it (the claim reads the copies);
    record old → new. Locks the task row."""
    priority = priority_check(priority)
    task = _lock_task(task_id)
    _check(supervisor, task.store_id)
    old = task.priority
    task.priority = priority
    task.save(update_fields=["priority"])
    Slot.objects.filter(task_id=task.pk).update(priority=priority)
    if old != priority:
        control_record(
            store_id=task.store_id,
            actor=supervisor,
            action="task_priority",
            target=f"task:{task.pk}",
            old={"priority": old},
            new={"priority": priority},
        )
    return task


@transaction.atomic
def lease_release(*, supervisor, slot_id: int) -> None:
    """Free a stuck lease (the holder's page is gone, or they are) and record whose it was.
    Locks the slot; the holder's next heartbeat or submit gets 409 `lease_lost`. The holder
    is not excluded: the task may come back to them."""
    slot = (
        Slot.objects.select_for_update(of=("self",))
        .filter(pk=slot_id)
        .values("task_id", "task__store_id", "holder__username", "leased_at")
        .first()
    )
    if slot is None:
        raise Http404("No such lease.")
    _check(supervisor, slot["task__store_id"])
    if Slot.objects.filter(pk=slot_id, state=OPEN, holder__isnull=False).update(**free_changes()) != 1:
        raise Conflict("This slot is not leased.", code="not_leased")
    leased_at = slot["leased_at"]
    control_record(
        store_id=slot["task__store_id"],
        actor=supervisor,
        action="lease_release",
        target=f"task:{slot['task_id']}",
        old={
            "holder": slot["holder__username"],
            "slot": slot_id,
            "since": leased_at.isoformat() if leased_at else None,
        },
        new={"holder": None},
    )


def _associate_busy() -> Conflict:
    return Conflict(
        "This associate is working on another task of this queue; release that lease first.", code="associate_busy"
    )


def task_reassign(*, supervisor, task_id: uuid.UUID, associate: User | None) -> Lease:
    """Give a task to a named associate, now, and record from whom to whom.

    The associate must be able to claim from the task's queue (associate role, store grant,
    queue membership; None, an unknown name, is 400 `unknown_associate`). Locks the
    associate's user row, the task, then the slot it moves: a free slot if there is one,
    else the one whose holder was silent longest (that holder gets 409 `lease_lost`). A
    supervisor overrides an earlier skip: the associate's exclusion from the task is lifted.
    409 if the task is finished or the associate already annotated it, and 409
    `associate_busy` if they hold a live lease on another task of the queue (one open slot
    per associate per queue: release it first); an expired one of theirs, which nobody took
    yet, goes back to the queue.
    """
    if associate is None:
        raise LoupeError("No such associate in your stores.", code="unknown_associate", field="associate")
    try:
        return _reassign(supervisor=supervisor, task_id=task_id, associate=associate)
    except IntegrityError:
        # Their own claim leased a slot of this queue meanwhile.
        raise _associate_busy() from None


@transaction.atomic
def _reassign(*, supervisor, task_id: uuid.UUID, associate: User) -> Lease:
    row = Task.objects.filter(pk=task_id).values_list("store_id", "queue_id").first()
    if row is None:
        raise Http404("No such task.")
    _check(supervisor, row[0])
    if not roles.is_associate(associate) or not queues_for_associate(associate).filter(pk=row[1]).exists():
        raise LoupeError("This person cannot work on this queue.", code="not_eligible", field="associate")
    # FOR NO KEY UPDATE, as a claim takes it: the foreign key checks of rows that name the
    # user (FOR KEY SHARE, at commit) do not wait for it.
    list(User.objects.select_for_update(no_key=True).filter(pk=associate.pk).values_list("pk", flat=True))
    task = _lock_task(task_id)
    if task.status != Task.Status.OPEN:
        raise Conflict("This task is finished.", code="task_closed")
    own = Slot.objects.filter(task_id=task.pk, holder_id=associate.pk).values_list("id", "state").first()
    if own is not None and own[1] != OPEN:
        raise Conflict("This associate already annotated this task.", code="already_annotated")
    elsewhere = Slot.objects.filter(holder_id=associate.pk, queue_id=task.queue_id, state=OPEN).exclude(task_id=task.pk)
    if elsewhere.filter(lease_expires_at__gte=Now()).exists():
        raise _associate_busy()
    elsewhere.update(**free_changes())
    free_first = Case(When(LEASE_FREE, then=Value(0)), default=Value(1))
    slots = Slot.objects.filter(task_id=task.pk, state=OPEN).select_for_update(of=("self",))
    if own is not None:
        slots = slots.filter(pk=own[0])
    slot = (
        slots.order_by(free_first, F("last_heartbeat_at").asc(nulls_first=True), "index")
        .annotate(now=Now(), lease_seconds=F("queue__lease_seconds"))
        .values("pk", "lease_token", "now", "lease_seconds")
        .first()
    )
    if slot is None:
        raise Conflict("This task has no open slot.", code="task_closed")
    before = sorted(
        Slot.objects.filter(task_id=task.pk, state=OPEN, holder__isnull=False).values_list(
            "holder__username", flat=True
        )
    )
    TaskExclusion.objects.filter(task_id=task.pk, user_id=associate.pk).delete()
    changes = lease_changes(associate_id=associate.pk, now=slot["now"], lease_seconds=slot["lease_seconds"])
    Slot.objects.filter(pk=slot["pk"]).update(**changes)
    control_record(
        store_id=task.store_id,
        actor=supervisor,
        action="task_reassign",
        target=f"task:{task.pk}",
        old={"holders": before},
        new={"associate": associate.get_username(), "slot": slot["pk"]},
    )
    return Lease(task=task, slot_id=slot["pk"], token=slot["lease_token"] + 1, expires_at=changes["lease_expires_at"])


@transaction.atomic
def queue_member_set(*, supervisor, queue: Queue, associate: User | None, member: bool) -> bool:
    """Add an associate to a queue or take them out (`people.queue_membership_set`); record it."""
    _check(supervisor, queue.store_id)
    if associate is None:
        raise LoupeError("No such associate in your stores.", code="unknown_associate", field="associate")
    was = QueueMembership.objects.filter(queue=queue, user=associate).exists()
    changed = queue_membership_set(queue=queue, user=associate, member=member)
    if changed:
        control_record(
            store_id=queue.store_id,
            actor=supervisor,
            action="queue_member_add" if member else "queue_member_remove",
            target=f"queue:{queue.pk}",
            old={"associate": associate.get_username(), "member": was},
            new={"associate": associate.get_username(), "member": member},
        )
    return changed


@transaction.atomic
def associate_store_set(*, supervisor, associate: User, store: Store, granted: bool) -> bool:
    """Grant an associate one of the supervisor's stores (and make them a member of its queues,
    as onboarding does) or take it away (and their memberships there). Records the change.

    Only associates: a supervisor cannot grant stores to other supervisors or integrations.
    """
    _check(supervisor, store.pk)
    if not associate.is_active or not roles.is_associate(associate) or associate.is_superuser:
        raise LoupeError(f"{associate.get_username()} is not an associate.", code="not_an_associate")
    had = StoreAccess.objects.filter(store=store, user=associate).exists()
    if had == granted:
        return False
    if granted:
        StoreAccess.objects.create(store=store, user=associate)
        QueueMembership.objects.bulk_create(
            [QueueMembership(queue=queue, user=associate) for queue in Queue.objects.filter(store=store)],
            ignore_conflicts=True,
        )
    else:
        StoreAccess.objects.filter(store=store, user=associate).delete()
        QueueMembership.objects.filter(user=associate, queue__store=store).delete()
    control_record(
        store_id=store.pk,
        actor=supervisor,
        action="store_grant" if granted else "store_revoke",
        target=f"user:{associate.pk}",
        old={"associate": associate.get_username(), "granted": had},
        new={"associate": associate.get_username(), "granted": granted},
    )
    return True
