"""Supervisors' queue control, each action recorded in the audit trail (`catalog.ControlAction`:
who, when, what, old → new) in the same transaction as the change.

These wrap the queue engine's supervisor actions (`work.lease_release`, `work.task_reassign`,
`work.task_set_priority`, `people.queue_membership_set`), which check that the supervisor is
granted the object's store (404 otherwise). Callers (the console's views) find the objects
through `annotator.access.*_for_supervisor`, which answer 404 outside the supervisor's stores.
"""

import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404

from annotator.models import Queue, QueueMembership, Slot, Task
from annotator.services.people import queue_membership_set
from annotator.services.work import Lease, lease_release, task_reassign, task_set_priority
from catalog import roles
from catalog.access import user_has_store
from catalog.models import Store, StoreAccess
from catalog.services.policy import control_record
from infra.errors import LoupeError

PRIORITY_LIMIT = 1000


def _check(supervisor, store: Store) -> None:
    if not roles.is_supervisor(supervisor) or not user_has_store(supervisor, store):
        raise Http404("No such object.")


@transaction.atomic
def queue_pause_set(*, supervisor, queue: Queue, paused: bool) -> bool:
    """Pause (claims offer nothing from it; leases already held run on) or resume a queue.
    Locks the queue row. Returns whether the state changed; a no-op is not recorded."""
    _check(supervisor, queue.store)
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
def task_priority_change(*, supervisor, task_id: uuid.UUID, priority) -> Task:
    """Set a task's priority (`work.task_set_priority`, which locks the task) and record old → new."""
    priority = priority_check(priority)
    old = Task.objects.select_for_update().filter(pk=task_id).values_list("priority", "store_id").first()
    if old is None:
        raise Http404("No such task.")
    task = task_set_priority(supervisor=supervisor, task_id=task_id, priority=priority)
    if old[0] != priority:
        control_record(
            store_id=old[1],
            actor=supervisor,
            action="task_priority",
            target=f"task:{task_id}",
            old={"priority": old[0]},
            new={"priority": priority},
        )
    return task


@transaction.atomic
def lease_force_release(*, supervisor, slot_id: int) -> None:
    """Free a stuck lease (`work.lease_release`) and record whose it was."""
    row = (
        Slot.objects.select_for_update(of=("self",))
        .filter(pk=slot_id)
        .values_list("task_id", "task__store_id", "holder__username", "leased_at")
        .first()
    )
    if row is None:
        raise Http404("No such lease.")
    task_id, store_id, holder, leased_at = row
    lease_release(supervisor=supervisor, slot_id=slot_id)
    control_record(
        store_id=store_id,
        actor=supervisor,
        action="lease_release",
        target=f"task:{task_id}",
        old={"holder": holder, "slot": slot_id, "since": leased_at.isoformat() if leased_at else None},
        new={"holder": None},
    )


@transaction.atomic
def task_assign(*, supervisor, task_id: uuid.UUID, associate: User | None) -> Lease:
    """Give a task to a named associate now (`work.task_reassign`) and record from whom to whom.
    `associate` None (an unknown name) is a 400 `unknown_associate`."""
    if associate is None:
        raise LoupeError("No such associate in your stores.", code="unknown_associate", field="associate")
    row = Task.objects.filter(pk=task_id).values_list("store_id", flat=True).first()
    if row is None:
        raise Http404("No such task.")
    before = sorted(
        Slot.objects.filter(task_id=task_id, state=Slot.State.OPEN, holder__isnull=False).values_list(
            "holder__username", flat=True
        )
    )
    lease = task_reassign(supervisor=supervisor, task_id=task_id, associate=associate)
    control_record(
        store_id=row,
        actor=supervisor,
        action="task_reassign",
        target=f"task:{task_id}",
        old={"holders": before},
        new={"associate": associate.get_username(), "slot": lease.slot_id},
    )
    return lease


@transaction.atomic
def queue_member_set(*, supervisor, queue: Queue, associate: User | None, member: bool) -> bool:
    """Add an associate to a queue or take them out (`people.queue_membership_set`); record it."""
    _check(supervisor, queue.store)
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
    _check(supervisor, store)
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
