"""Workforce quality: gold tasks with their known answers, scores, and pauses."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotator.models.work import Annotation, Task
from catalog.models import Store


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
