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
from django.utils import timezone

from catalog.models import Camera, Store


class Snippet(models.Model):
    """A clip from the store's cameras. Stored redacted only: the upload waits in a private
    holding place (`holding`, never served) until the redaction worker has written the
    redacted clip, poster and thumbnail (`annotator.services.snippet_redaction`)."""

    class Status(models.TextChoices):
        REDACTING = "redacting"  # the media URLs answer 409, its task is not claimable yet
        READY = "ready"
        FAILED = "failed"  # see `failure`; nothing of the upload is kept

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="snippets")
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="snippets")
    external_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    # Empty until the redaction is done (and again after a purge).
    file = models.FileField(upload_to="snippets/%Y/%m/%d/", blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    container = models.CharField(max_length=16)
    codec = models.CharField(max_length=16)
    duration_s = models.FloatField()
    fps = models.FloatField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frame_count = models.PositiveIntegerField()
    poster = models.ImageField(upload_to="snippets/posters/%Y/%m/%d/", blank=True)
    thumbnail = models.ImageField(upload_to="snippets/thumbs/%Y/%m/%d/", blank=True)
    predictions = models.JSONField(default=list, blank=True)
    # What was obscured before the clip was stored: [{"frames", "box", "source"}] (annotator.redaction).
    redactions = models.JSONField(default=list, blank=True)
    # Set when retention or an erasure deleted the files; the media URLs then answer 410.
    media_purged_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    failure = models.TextField(blank=True)
    # Storage name of the unredacted upload while it waits for the redaction worker (under
    # HOLDING_PREFIX, which no URL serves); emptied as soon as the redaction ends either way.
    holding = models.CharField(max_length=255, blank=True)
    # The redaction's claim (the datasets' lease pattern): attempts fence each other out, and
    # an attempt whose lease ran out (its worker died) is taken over by `snippets_recover`.
    redaction_attempts = models.PositiveSmallIntegerField(default=0)
    redacting_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="snippet_external_id_per_store")]
        # `snippets_recover` looks for stalled redactions: a handful of rows, never a scan.
        indexes = [models.Index(fields=["redacting_until"], name="snippet_redacting", condition=Q(status="redacting"))]

    def __str__(self) -> str:
        return f"{self.store.code}/{self.external_id}"


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


class MediaView(models.Model):
    """Audit log: every view of visit or snippet media (who, what, when)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    snippet = models.ForeignKey(Snippet, on_delete=models.PROTECT, related_name="views")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    what = models.CharField(max_length=16)  # video, poster, thumbnail
    byte_range = models.CharField(max_length=64, blank=True)
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["snippet", "viewed_at"], name="mediaview_snippet_time")]


# Verdicts of a visit event's label that change what the model said.
CORRECTING_VERDICTS = ("correct", "reject", "missed")


class Label(models.Model):
    """One finished human judgment as training data: a validated visit event (confirmed,
    corrected, rejected or missed) or a snippet annotation, with its provenance.

    Written in the submit transaction (`annotator.services.labels.label_record`) and served
    oldest first by the labels feed, which pages on `seq` (assigned at insert) up to a
    watermark below which every label is committed, so a label committed late can never
    land behind a cursor already handed out. See `annotator.services.labels`.
    """

    class Kind(models.TextChoices):
        VISIT_EVENT = "visit_event"
        SNIPPET = "snippet"

    class Source(models.TextChoices):
        ASSOCIATE = "associate"
        CONSENSUS = "consensus"
        ADJUDICATION = "adjudication"
        SUPERVISOR = "supervisor"

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The writing transaction's id on PostgreSQL (0 elsewhere): for diagnostics only.
    txid = models.BigIntegerField(default=0)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="labels")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="labels")
    annotation = models.ForeignKey(Annotation, on_delete=models.PROTECT, related_name="labels")
    associate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels")
    created_at = models.DateTimeField()
    model_version = models.CharField(max_length=64, blank=True)
    # What the model said and what the human said; null on one side for a missed event (no
    # prediction) and a rejected one (it did not happen).
    predicted = models.JSONField(null=True, blank=True)
    human = models.JSONField(null=True, blank=True)
    # Visit events: confirm, correct, reject, missed. Snippets: annotated.
    verdict = models.CharField(max_length=16)
    snippet = models.ForeignKey(Snippet, null=True, blank=True, on_delete=models.PROTECT, related_name="labels")
    # A validation.Event id; no foreign key, the annotator app knows nothing about visits.
    event_id = models.UUIDField(null=True, blank=True)
    provenance = models.JSONField(default=dict)
    # Set when the shopper of the label's visit asked to be erased: it leaves the feed and
    # every dataset built afterwards (versions already frozen keep it).
    erased_at = models.DateTimeField(null=True, blank=True)
    # A human judgement (API.md v1.1): the event was opened, or the verdict changed what the
    # model said. A `confirm` of an event nobody opened is the model's word, not a person's:
    # stored (it fed the receipt) but never counted as a judgement, nor exported by default.
    checked = models.BooleanField(default=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ASSOCIATE)
    # What the person did with the event's media: {"opened", "watched_ms", "frames_viewed"};
    # {} when the client sent nothing (a snippet annotation, a headless confirm).
    evidence = models.JSONField(default=dict, blank=True)
    # Consensus and adjudication labels of a snippet done by N associates: how far the N
    # answers agreed with the label, 0–1 (annotator.services.consensus); null for the others.
    agreement = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["store", "seq"], name="label_store_seq"),
            models.Index(fields=["created_at", "seq"], name="label_created"),
            # The associates page: a window's corrections and the events labelled more than once
            # in it, each from an index alone; then every label of those events.
            models.Index(
                fields=["created_at"],
                include=["store", "associate"],
                name="label_window_correction",
                condition=Q(verdict__in=CORRECTING_VERDICTS),
            ),
            models.Index(
                fields=["created_at"],
                include=["store", "event_id"],
                name="label_window_event",
                condition=Q(event_id__isnull=False),
            ),
            models.Index(fields=["event_id", "seq"], name="label_event", condition=Q(event_id__isnull=False)),
        ]


class Dataset(models.Model):
    """A named, immutable version of training data: its filters are resolved to a frozen list
    of labels (`DatasetItem`) when it is created, and a background task (queue "exports")
    writes the file once. See `annotator.services.datasets` and docs/datasets.md."""

    class Format(models.TextChoices):
        JSONL = "jsonl"
        COCO = "coco"
        CSV = "csv"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    format = models.CharField(max_length=8, choices=Format.choices)
    # The filters as resolved at creation (store codes, ISO times, kinds, model version, flags).
    filters = models.JSONField(default=dict)
    # The stores whose labels it holds: who may see it is whoever is granted all of them.
    stores = models.ManyToManyField(Store, related_name="datasets")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    items = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to="datasets/", max_length=255, blank=True)
    manifest = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="datasets"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The running build's lease: its worker extends it after every batch. Past it, the worker
    # is taken for dead and a later run or a retry may take the build over.
    running_until = models.DateTimeField(null=True, blank=True)
    # The task result (django-tasks) of the run that holds the build: run again after a
    # database error cut it short, it takes its own build back (annotator.services.datasets).
    run_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.format})"

    @property
    def stalled(self) -> bool:
        """Running, but its worker let the lease run out (it died, most likely)."""
        return self.status == self.Status.RUNNING and (
            self.running_until is None or self.running_until < timezone.now()
        )


class DatasetItem(models.Model):
    """One label of a dataset, in output order. Written once, at creation."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "position"], name="dataset_item_position")]


class QueueDepthSample(models.Model):
    """A queue's depth and live leases at one moment, for the depth-over-time chart.

    Written once a minute by `manage.py queue_depth_sample --every 60` (next to the worker in
    `make run`); old samples are pruned by the same command.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="depth_samples")
    at = models.DateTimeField()
    depth = models.PositiveIntegerField()
    in_progress = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["queue", "at"], name="depthsample_queue_at")]


class GoldTask(models.Model):
    """A task with a known answer (`truth`), served to many associates, once each, at the
    store's `gold_share` of their claims and scored on submit (`annotator.services.gold`).

    Nothing an associate sees tells it apart: its `Task` keeps the purpose, queue, kind and
    payload shape of real work; only this row, which no associate-facing read touches, knows.
    The task has no free slots: `gold_serve` adds one per associate, leased at once.
    """

    task = models.OneToOneField(Task, on_delete=models.CASCADE, primary_key=True, related_name="gold")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    # Kind-specific: a visit's verdicts per event and missed items, a snippet's action and boxes.
    truth = models.JSONField()
    # The annotation it was made from ("make this gold"), if any; no foreign key: the source
    # may be purged or rejected later without touching the gold task.
    source_annotation_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["store", "created_at"], name="gold_store_created", condition=Q(is_active=True))]


class GoldScore(models.Model):
    """One associate's answer to a gold task, scored against its truth: `events` judged,
    `correct` of them right, and per event why (`details`)."""

    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="gold_score")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="gold_scores")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    associate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    events = models.PositiveIntegerField()
    correct = models.PositiveIntegerField()
    details = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["associate", "store", "created_at"], include=["events", "correct"], name="goldscore_associate"
            ),
            models.Index(fields=["store", "created_at"], name="goldscore_store_time"),
        ]


class AssociatePause(models.Model):
    """An associate paused in one store (gold accuracy under the store's floor): they claim
    nothing more there until a supervisor reinstates them. One open pause per (store, associate)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    associate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=500)
    paused_at = models.DateTimeField(auto_now_add=True)
    reinstated_at = models.DateTimeField(null=True, blank=True)
    reinstated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-paused_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["associate", "store"], condition=Q(reinstated_at__isnull=True), name="pause_one_open"
            )
        ]


class WorkerBeat(models.Model):
    """A `manage.py worker` process saying it is alive: a thread of the worker writes its row
    every `WORKER_BEAT_S` seconds (one UPDATE), busy or idle. `/readyz` and the supervisor's
    console read these rows to say which queues have a live worker (seen in the last
    `WORKER_ALIVE_S` seconds). A stopped worker's row stays, so "last seen 4 min ago" can be
    said; rows not seen for a day are pruned when a worker starts."""

    worker_id = models.CharField(primary_key=True, max_length=64)
    queues = models.JSONField(default=list)  # the queue names it serves, "*" resolved
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["seen_at"], name="workerbeat_seen")]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"
