"""What the work produced for training: labels, and the datasets frozen from them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotator.models.media import Snippet
from annotator.models.work import Annotation, Task
from catalog.models import Store

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
