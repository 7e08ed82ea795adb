"""Builders for the queue-engine tests: queues with members, tasks in bulk, results."""

import datetime as dt
import uuid

from django.db.models.functions import Now
from django.utils import timezone

from annotator.models import Queue, QueueMembership, Slot, Task
from catalog import roles
from tests.factories import UserFactory

SNIPPET_PAYLOAD = {"snippet": None, "width": 320, "height": 240, "fps": 10, "frame_count": 30, "predictions": []}


def work_queue(store, *members, kind="snippet_annotation", name="Work", overlap=1, lease_seconds=300, paused=False):
    queue = Queue.objects.create(
        store=store, kind=kind, name=name, overlap=overlap, lease_seconds=lease_seconds, is_paused=paused
    )
    QueueMembership.objects.bulk_create(QueueMembership(queue=queue, user=user) for user in members)
    return queue


def associates(store, count: int, prefix: str = "worker") -> list:
    return [UserFactory(username=f"{prefix}{n}", role=roles.ASSOCIATE, stores=[store]) for n in range(count)]


def add_tasks(queue, count: int, *, priority: int = 0, due_in: float = 15, overlap: int | None = None, payload=None):
    """`count` open tasks with their slots, in two bulk inserts; due one second apart."""
    overlap = overlap or queue.overlap
    now = timezone.now()
    tasks = Task.objects.bulk_create(
        Task(
            queue=queue,
            store_id=queue.store_id,
            kind=queue.kind,
            subject_id=uuid.uuid4(),
            priority=priority,
            due_at=now + dt.timedelta(minutes=due_in, seconds=n),
            overlap=overlap,
            payload=payload if payload is not None else SNIPPET_PAYLOAD,
        )
        for n in range(count)
    )
    Slot.objects.bulk_create(
        Slot(
            task=task,
            index=index,
            queue=queue,
            priority=task.priority,
            due_at=task.due_at,
            created_at=task.created_at,
        )
        for task in tasks
        for index in range(overlap)
    )
    return tasks


def expire_leases(**filters) -> int:
    """Move leases into the past by the database clock (lease times come from the database)."""
    return Slot.objects.filter(holder__isnull=False, **filters).update(lease_expires_at=Now() - dt.timedelta(seconds=1))


def none_result() -> dict:
    return {"action": "none", "boxes": []}
