"""Deleting snippet media for shopper privacy (retention and erasure) and taking labels out of
future training data. Which snippets are due is the caller's call (`validation.privacy`
knows visits and receipts); this module only knows snippets, labels and datasets.
"""

import contextlib
import datetime as dt
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q

from annotator.models import Dataset, DatasetItem, Label, Snippet


def snippets_held_by_builds() -> Q:
    """Snippets whose labels a dataset still being built will read frames from: their media
    waits for the build (a ready version carries its keyframes in its own file)."""
    building = DatasetItem.objects.filter(
        dataset__status__in=[Dataset.Status.QUEUED, Dataset.Status.RUNNING], label__snippet__isnull=False
    ).values("label__snippet")
    return Q(pk__in=building)


def snippets_media_purge(*, snippet_ids: Iterable, now: dt.datetime, builds_wait: bool = True) -> list[Snippet]:
    """Delete the video, poster and thumbnail of these snippets (those not purged yet and, if
    `builds_wait`, not held by a dataset build) and mark them purged; returns those purged.

    Locks the snippet rows (skipping none: a purge waits for a concurrent one and then finds
    the rows already marked). Files are deleted after the commit, so a rollback never leaves a
    row pointing at a deleted file; a file that fails to delete is left behind, never served
    (the row says purged).
    """
    with transaction.atomic():
        due = Snippet.objects.select_for_update().filter(pk__in=list(snippet_ids), media_purged_at__isnull=True)
        if builds_wait:
            due = due.exclude(snippets_held_by_builds())
        snippets = list(due.order_by("pk"))
        # A snippet still being redacted has only its held upload; its redaction, fenced on
        # `media_purged_at`, then stores nothing.
        names = [name for s in snippets for name in (s.file.name, s.poster.name, s.thumbnail.name, s.holding) if name]
        for snippet in snippets:
            snippet.file, snippet.poster, snippet.thumbnail, snippet.media_purged_at = "", "", "", now
            snippet.holding = ""
        Snippet.objects.bulk_update(snippets, ["file", "poster", "thumbnail", "holding", "media_purged_at"])
        transaction.on_commit(lambda: _delete(names))
    return snippets


def _delete(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def labels_erase(*, event_ids: Iterable, snippet_ids: Iterable, now: dt.datetime) -> int:
    """Take the labels of these events and snippets out of the feed and future datasets."""
    return Label.objects.filter(
        Q(event_id__in=list(event_ids)) | Q(snippet_id__in=list(snippet_ids)), erased_at__isnull=True
    ).update(erased_at=now)
