"""Clips from the stores' cameras, and who watched which (the privacy record)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

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


class MediaView(models.Model):
    """Audit log: every view of visit or snippet media (who, what, when)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    snippet = models.ForeignKey(Snippet, on_delete=models.PROTECT, related_name="views")
    task = models.ForeignKey("annotator.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    what = models.CharField(max_length=16)  # video, poster, thumbnail
    byte_range = models.CharField(max_length=64, blank=True)
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["snippet", "viewed_at"], name="mediaview_snippet_time")]


# Verdicts of a visit event's label that change what the model said.
