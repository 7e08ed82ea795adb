"""Shopping visits, their events, carts, corrections and receipts.

A visit is written whole (with its events and predicted cart) in one transaction by
`validation.services.visit_ingest`. Receipts are never edited: a correction issues a new
receipt whose `supersedes` points at the one it replaces.
"""

import uuid

from django.conf import settings
from django.db import models

from annotator.models import Annotation, Snippet
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

    class Meta:
        ordering = ["-exited_at"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="visit_external_id_per_store")]
        indexes = [
            models.Index(fields=["store", "status", "exited_at"], name="visit_store_status_exit"),
            models.Index(fields=["received_at"], name="visit_received"),
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

    class Meta:
        ordering = ["issued_at"]
        indexes = [models.Index(fields=["visit", "issued_at"], name="receipt_visit_issued")]


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

    class Meta:
        ordering = ["created_at"]
