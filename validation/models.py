"""Shopping visits, their events, carts, corrections and receipts.

A visit is written whole (with its events and predicted cart) in one transaction by
`validation.services.visit_ingest`. Receipts are never edited: a correction issues a new
receipt whose `supersedes` points at the one it replaces.
"""

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotator.models import Annotation, Snippet, Task
from catalog.models import Camera, Product, Store


class Visit(models.Model):
    class Status(models.TextChoices):
        AUTO_ACCEPTED = "auto_accepted"
        PENDING_REVIEW = "pending_review"
        IN_REVIEW = "in_review"  # derived for reads: pending_review with a live lease
        VALIDATED = "validated"
        DISPUTED = "disputed"

    class Decision(models.TextChoices):
        AUTO_ACCEPT = "auto_accept"
        REVIEW = "review"

    class AuditOutcome(models.TextChoices):
        CONFIRMED = "confirmed"
        CORRECTED = "corrected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="visits")
    external_id = models.CharField(max_length=128)
    # Pseudonymous shopper token from the store. Never shown to associates, never exported.
    shopper = models.CharField(max_length=128)
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField()
    model_version = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    # The routing decision as it was taken: which threshold, which outcome, audited or not.
    decision = models.CharField(max_length=16, choices=Decision.choices)
    threshold = models.FloatField()
    min_confidence = models.FloatField(null=True, blank=True)
    audited = models.BooleanField(default=False)
    due_at = models.DateTimeField(null=True, blank=True)
    # Hash of the canonical request body: the same body again is a replay, another is a conflict.
    body_sha256 = models.CharField(max_length=64)
    predicted_cart = models.JSONField(default=list)
    final_cart = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    # What the audit of an auto-accepted visit found: the model's cart confirmed, or corrected.
    # Blank until an audit task is done; the error rate of auto-acceptance is measured on it.
    audit_outcome = models.CharField(max_length=16, choices=AuditOutcome.choices, blank=True)
    audit_completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-exited_at"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="visit_external_id_per_store")]
        indexes = [
            models.Index(fields=["store", "status", "exited_at"], name="visit_store_status_exit"),
            models.Index(fields=["received_at"], name="visit_received"),
            # Automation rate per store over a window of exits, covering what the automation
            # figures and the calibration's review load read (index-only scans on PostgreSQL).
            models.Index(
                fields=["store", "exited_at"],
                include=["decision", "model_version", "min_confidence"],
                name="visit_store_exit_cover",
            ),
            # The audit error rate: audited visits only, over a longer window.
            models.Index(
                fields=["store", "exited_at"],
                condition=~models.Q(audit_outcome=""),
                include=["decision", "model_version", "audit_outcome"],
                name="visit_audited_exit_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store.code}/{self.external_id}"


class Event(models.Model):
    class Action(models.TextChoices):
        TAKE = "take"
        PUT_BACK = "put_back"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    external_id = models.CharField(max_length=128)
    action = models.CharField(max_length=16, choices=Action.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(default=1)
    confidence = models.FloatField()
    occurred_at = models.DateTimeField()
    camera = models.ForeignKey(Camera, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    snippet = models.ForeignKey(Snippet, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    candidates = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["visit", "seq"]
        constraints = [models.UniqueConstraint(fields=["visit", "external_id"], name="event_external_id_per_visit")]


class Receipt(models.Model):
    class Kind(models.TextChoices):
        ISSUED = "receipt.issued"
        CORRECTED = "receipt.corrected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="receipts")
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    total_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField()
    # The visit's turnaround, frozen on its first receipt (kind issued) when it is issued, so
    # the console reads a window of turnarounds from one index with no join to the visits.
    # Null on corrections.
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    decision = models.CharField(max_length=16, choices=Visit.Decision.choices, blank=True)
    exited_at = models.DateTimeField(null=True, blank=True)
    turnaround_s = models.FloatField(null=True, blank=True)
    inside_sla = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["issued_at"]
        indexes = [
            models.Index(fields=["visit", "issued_at"], name="receipt_visit_issued"),
            # Turnaround: first receipts issued in the last hour or day.
            models.Index(fields=["issued_at"], condition=models.Q(kind="receipt.issued"), name="receipt_first_issued"),
            # The same per store, covering what the turnaround figures read (index-only scans).
            models.Index(
                fields=["store", "issued_at"],
                condition=models.Q(kind="receipt.issued"),
                include=["decision", "turnaround_s", "inside_sla"],
                name="receipt_first_store_issued",
            ),
        ]


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    price_minor = models.PositiveIntegerField()
    total_minor = models.BigIntegerField()

    class Meta:
        ordering = ["receipt", "position"]


class CartCorrection(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="corrections")
    sku = models.CharField(max_length=64)
    delta = models.IntegerField()
    reason = models.CharField(max_length=32)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    snippet = models.ForeignKey(Snippet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    annotation = models.ForeignKey(Annotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    # The receipt this correction went into (one review round's corrections share it).
    receipt = models.ForeignKey(Receipt, null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections")

    class Meta:
        ordering = ["created_at"]


class Dispute(models.Model):
    """A shopper's (customer service's) or a supervisor's objection to a visit's receipt. It
    sends the visit back to review as a top-priority task for someone who did not validate
    it before; the task's outcome resolves it (`validation.services.review`)."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed"  # the receipt stood
        CORRECTED = "corrected"  # a `receipt.corrected` followed

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="disputes")
    reason = models.CharField(max_length=500)
    sku = models.CharField(max_length=64, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="dispute")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The corrected receipt the dispute led to, if any.
    receipt = models.ForeignKey(Receipt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit"], condition=models.Q(resolved_at__isnull=True), name="dispute_one_open_per_visit"
            )
        ]

    def __str__(self) -> str:
        return f"dispute {self.id} of visit {self.visit_id}"

    @property
    def status(self) -> str:
        return "open" if self.resolved_at is None else "resolved"


# Billing webhooks (validation.webhooks, validation.tasks). One event per receipt, frozen at
# creation; one delivery of it per subscribed endpoint; every HTTP attempt logged.


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    # `whsec_<base64>` as Standard Webhooks expects. Generated by Loupe and shown once; kept in
    # clear because signing needs it.
    secret = models.CharField(max_length=100, editable=False)
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=24, choices=Receipt.Kind.choices)
    # Exactly one event per receipt: the stable `webhook-id` billing deduplicates on.
    receipt = models.OneToOneField(Receipt, on_delete=models.PROTECT, related_name="webhook_event")
    # The body `{"type", "timestamp", "data"}`, frozen when the receipt was issued.
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.webhook_id

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"

    def body(self) -> str:
        """The exact text signed and sent, the same on every attempt and database (PostgreSQL's
        jsonb does not keep key order, so keys are sorted)."""
        return json.dumps(self.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"  # retries ran out; replayable
        DISABLED = "disabled"  # the endpoint is disabled (410 Gone or by an admin)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt is in flight, when its lease runs out.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The django-tasks result of the run that will make the next attempt (see webhooks_recover).
    task_result_id = models.CharField(max_length=64, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "status", "created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event.webhook_id} → {self.endpoint.url}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "started_at"]
