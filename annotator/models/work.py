"""Snippets, queues, tasks and the slots that leases hold.

A task needs `overlap` annotations from distinct associates; each one is a `Slot`. A slot's
lease lives on the slot row itself (holder, fencing token, expiry), so "held by at most one
live lease" is a property of one row, and an expired lease is simply a row whose
`lease_expires_at` is in the past: the claim query treats it as free, no sweeper needed.
The slot also carries copies of its task's ordering columns so that the claim is a single
index range scan (see `Slot.Meta.indexes` and `annotator.services.claim`).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from annotator.models.media import Snippet
from catalog.models import Store


class Queue(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="queues")
    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    is_paused = models.BooleanField(default=False)
    lease_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(30), MaxValueValidator(3600)]
    )
    overlap = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(10)])
    # Claimed by the store's supervisors only (the `escalation` queue): associates never
    # lease from it, whatever their memberships say.
    supervisors_only = models.BooleanField(default=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="QueueMembership", related_name="queues")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "kind", "name"], name="queue_name_per_store_kind")]

    def __str__(self) -> str:
        return f"{self.store.code} · {self.name}"


class QueueMembership(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="queue_membership_unique")]


class Task(models.Model):
    class Status(models.TextChoices):
        # Waiting for its snippet's redaction: not claimable, not counted in queue depth.
        WAITING = "waiting"
        OPEN = "open"
        DONE = "done"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by `task_queue_status_due`, which leads with it.
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=32)
    # What the task is about (a snippet, a visit); the kind knows how to read it.
    subject_id = models.UUIDField()
    # Higher first. Audits are negative, disputes high.
    priority = models.IntegerField(default=0)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    overlap = models.PositiveSmallIntegerField(default=1)
    annotations_done = models.PositiveSmallIntegerField(default=0)
    payload = models.JSONField(default=dict)
    # Free-form tag of why the task exists ("review", "audit", "dispute", "annotate").
    purpose = models.CharField(max_length=16, default="review")
    # Media the holder of a live lease on this task may view (and nobody else but supervisors).
    snippets = models.ManyToManyField(Snippet, blank=True, related_name="tasks")
    # An adjudication task (purpose "adjudication"): the overlap task whose answers disagreed
    # (annotator.services.consensus). One-to-one: one adjudication per disagreement.
    adjudicates = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjudication"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "subject_id"], name="task_subject"),
            models.Index(fields=["queue", "status", "due_at"], name="task_queue_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class Slot(models.Model):
    """One of a task's `overlap` places, and the lease on it.

    `holder` stays set after a submit (state DONE), which is how "never twice by the same
    associate" is enforced: at most one slot per (task, holder).
    """

    class State(models.TextChoices):
        WAITING = "waiting"  # its task is waiting (Task.Status.WAITING); outside every claim
        OPEN = "open"  # free, or leased (live or expired: see lease_expires_at)
        DONE = "done"
        CANCELLED = "cancelled"

    id = models.BigAutoField(primary_key=True)
    # No index of its own on `task` or `holder`: the unique (task, index) and (task, holder)
    # constraints and `slot_one_held_per_queue` lead with them, and every claim and submit updates
    # this row (each index is written again on each of those updates).
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="slots", db_index=False)
    index = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    # Copies of the task's ordering columns; kept in step by the services that change them.
    # Read by queue only among open slots (`slot_claim_order` leads with it) or through the
    # slot's id; a queue's deletion (an admin's rare act) scans for its slots instead.
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", db_index=False)
    priority = models.IntegerField(default=0)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()
    # The lease. All times come from the database clock.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots", db_index=False
    )
    lease_token = models.PositiveBigIntegerField(default=0)
    leased_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0)

    class Meta:
        indexes = [
            # The claim scan: open slots of one queue in queue order.
            models.Index(
                "queue",
                models.F("priority").desc(),
                "due_at",
                "created_at",
                "id",
                name="slot_claim_order",
                condition=Q(state="open"),
            ),
            # Rejected work (`annotation_reject` cancels the slot): a few rows, which the
            # associates page excludes without joining every annotation to its slot.
            models.Index(fields=["id"], name="slot_cancelled", condition=Q(state="cancelled")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["task", "index"], name="slot_index_per_task"),
            models.UniqueConstraint(fields=["task", "holder"], name="slot_one_per_associate_per_task"),
            # One open slot per associate per queue (held live, or expired and not yet taken):
            # what lets the usual claim run without locking the associate. Small (only the
            # slots someone holds), it is also the way to "what do I hold" (holder = me and
            # state open). Nothing else reads slots by holder alone but the deletion of a user
            # (SET_NULL scans for their slots: an admin's rare act; associates are deactivated).
            models.UniqueConstraint(
                fields=["holder", "queue"],
                condition=Q(state="open", holder__isnull=False),
                name="slot_one_held_per_queue",
            ),
        ]


class TaskExclusion(models.Model):
    """An associate who must not be offered a task again (released it, was rejected on it,
    or validated the visit now disputed)."""

    class Cause(models.TextChoices):
        RELEASED = "released"
        REJECTED = "rejected"
        PREVIOUS_VALIDATOR = "previous_validator"
        # Answered "can't tell": the task goes to someone else.
        UNSURE = "unsure"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="exclusions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cause = models.CharField(max_length=24, choices=Cause.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="task_exclusion_unique")]


class Annotation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="annotations")
    slot = models.OneToOneField(Slot, on_delete=models.CASCADE, related_name="annotation")
    # The task's store (written by the submit): which store's work this was, read from
    # `annotation_associate_time` alone. No index of its own: a store is never deleted while
    # it has tasks (PROTECT).
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", db_index=False)
    associate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    kind = models.CharField(max_length=32)
    result = models.JSONField()
    submission_id = models.UUIDField()
    active_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["associate", "submission_id"], name="annotation_submission_once")
        ]
        indexes = [
            # An associate's work in a window, read from the index alone (the associates page).
            models.Index(
                fields=["associate", "created_at"],
                include=["kind", "active_seconds", "slot", "store"],
                name="annotation_associate_time",
            ),
            # The console's throughput and associate figures: the last day's work of all associates.
            models.Index(fields=["created_at"], name="annotation_created"),
        ]


class Rejection(models.Model):
    """A supervisor's rejection of a submitted annotation, and who has read it.

    The rejected associate reads it on their work home until they dismiss it; whoever works
    the task next reads its comment on the task screen. Written by
    `annotator.services.review.annotation_reject`, one per annotation.
    """

    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="rejection")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="rejections")
    associate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The work home: an associate's rejections not yet dismissed (a few rows).
            models.Index(
                fields=["associate", "created_at"],
                name="rejection_unread",
                condition=Q(dismissed_at__isnull=True),
            ),
        ]
