"""Stores, their routing policy, cameras and products: the vocabulary every app shares.

SKUs are per store: the same code may name different products (and prices) in two stores,
and every visit event is checked against its own store's catalog.
"""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

code_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", "Use 1-32 letters, digits, '.', '_' or '-'.")
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use an ISO-4217 code such as EUR.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


unit_interval = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class Store(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    # Routing policy: see validation.routing.
    auto_accept_threshold = models.FloatField(default=0.90, validators=unit_interval)
    sla_minutes = models.PositiveIntegerField(default=15, validators=[MinValueValidator(1)])
    audit_rate = models.FloatField(default=0.02, validators=unit_interval)
    # Shopper privacy: snippet media is purged this many days after its visits' final receipts.
    media_retention_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    # Workforce quality (see annotator.services.gold and annotator.services.consensus): the share
    # of each associate's claims served from the store's gold pool, the gold accuracy below
    # which an associate is paused (after at least min_gold_events scored events), and how
    # many distinct associates label each snippet.
    gold_share = models.FloatField(default=0.05, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)])
    min_gold_accuracy = models.FloatField(default=0.9, validators=unit_interval)
    min_gold_events = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    snippet_overlap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="StoreAccess", related_name="stores")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class StoreAccess(models.Model):
    """A person or integration granted one store. Superusers need no grant."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "user"], name="store_access_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.store.code}"


class Camera(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="cameras")
    code = models.CharField(max_length=32, validators=[code_validator])
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["store", "code"]
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="camera_code_per_store")]

    def __str__(self) -> str:
        return f"{self.store.code}/{self.code}"


class Product(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    price_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[currency_validator])
    image = models.ImageField(upload_to="products/", blank=True)
    thumbnail = models.ImageField(upload_to="products/thumbs/", blank=True, editable=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["store", "sku"]
        constraints = [models.UniqueConstraint(fields=["store", "sku"], name="product_sku_per_store")]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class PolicyChange(models.Model):
    """One change of a store's routing policy: who, when, which field, old → new. Written only
    by `catalog.services.policy.store_policy_update`, in the transaction of the change."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="policy_changes")
    field = models.CharField(max_length=32)
    old = models.JSONField()
    new = models.JSONField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    # Why, when the change came with one (e.g. "calibration: target event error rate 0.5 %").
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["store", "-changed_at"], name="policychange_store_time")]

    def __str__(self) -> str:
        return f"{self.store.code}.{self.field}: {self.old} → {self.new}"


class ControlAction(models.Model):
    """The audit trail of supervisors' queue control (pause, priority, lease release,
    reassign, membership, store grants, rejections): who did what to which object of which
    store, old → new. One generic table in catalog so every app's control actions share it;
    `target` names the object (`queue:<id>`, `task:<id>`, `user:<id>`)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="control_actions")
    action = models.CharField(max_length=32)
    target = models.CharField(max_length=80)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    comment = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["store", "-created_at"], name="controlaction_store_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.target}: {self.old} → {self.new}"
