"""Shopper privacy over visits: which snippets retention purges, and a shopper's erasure.

The annotator app deletes files and takes labels out of training data
(`annotator.services.retention`); this module decides which, because only it knows visits,
receipts and disputes. A snippet is due when every visit that uses it is finished
(auto-accepted or validated), has a receipt, received no receipt in the last
`media_retention_days` of its store, and has no open dispute. A snippet no visit uses is due
that long after its upload once none of its tasks is open.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from annotator.models import Snippet, Task
from annotator.services.retention import labels_erase, snippets_media_purge
from catalog.models import Store
from catalog.services.policy import control_record
from validation.models import CartCorrection, Dispute, Event, Receipt, Visit

FINISHED = (Visit.Status.AUTO_ACCEPTED, Visit.Status.VALIDATED)


def snippets_due(*, store: Store, now: dt.datetime) -> QuerySet[Snippet]:
    """The store's snippets whose media retention has run out at `now` (not purged yet)."""
    cutoff = now - dt.timedelta(days=store.media_retention_days)
    visit = OuterRef("visit")
    blocking = Event.objects.filter(snippet=OuterRef("pk")).filter(
        ~Exists(Visit.objects.filter(pk=visit, status__in=FINISHED))
        | ~Exists(Receipt.objects.filter(visit=visit))
        | Exists(Receipt.objects.filter(visit=visit, issued_at__gt=cutoff))
        | Exists(Dispute.objects.filter(visit=visit, resolved_at__isnull=True))
    )
    used = Event.objects.filter(snippet=OuterRef("pk"))
    open_task = Task.objects.filter(snippets=OuterRef("pk")).exclude(status=Task.Status.DONE)
    unused_and_old = ~Exists(used) & ~Exists(open_task) & ~Exists(CartCorrection.objects.filter(snippet=OuterRef("pk")))
    return (
        Snippet.objects.filter(store=store, media_purged_at__isnull=True, created_at__lte=cutoff)
        .filter((Exists(used) & ~Exists(blocking)) | unused_and_old)
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class PurgeResult:
    store: str
    snippets: list[str]  # external ids


def media_purge(*, now: dt.datetime, dry_run: bool = False) -> list[PurgeResult]:
    """Purge every store's due snippets (see the module docstring); with `dry_run` only say
    which. Each store's purge is one transaction recorded as a `media_purged` control action."""
    results = []
    for store in Store.objects.order_by("code"):
        due = list(snippets_due(store=store, now=now).values_list("pk", "external_id"))
        if not due:
            continue
        if dry_run:
            results.append(PurgeResult(store.code, [external_id for _, external_id in due]))
            continue
        with transaction.atomic():
            purged = snippets_media_purge(snippet_ids=[pk for pk, _ in due], now=now)
            if purged:
                control_record(
                    store_id=store.pk,
                    actor=None,
                    action="media_purged",
                    target=f"store:{store.code}",
                    new={"snippets": len(purged), "retention_days": store.media_retention_days},
                )
        if purged:
            results.append(PurgeResult(store.code, [s.external_id for s in purged]))
    return results


@transaction.atomic
def shopper_erase(*, store: Store, shopper: str, by, now: dt.datetime) -> int:
    """Erase a shopper from a store: each of their visits gets a fresh, unrelated token, the
    snippets those visits use are purged (even when a dataset build is reading them: erasure
    wins), and the labels of those visits leave the feed and future datasets. Receipts stay.
    Returns the number of visits. Locks the visits (by id), then the snippets.

    Recorded as a `shopper_erased` control action that carries counts, never the token.
    """
    visits = list(Visit.objects.select_for_update().filter(store=store, shopper=shopper).order_by("pk"))
    for visit in visits:
        visit.shopper = f"erased-{uuid.uuid4().hex}"
    Visit.objects.bulk_update(visits, ["shopper"])
    visit_ids = [visit.pk for visit in visits]
    event_ids = list(Event.objects.filter(visit_id__in=visit_ids).values_list("pk", flat=True))
    snippet_ids = set(
        Event.objects.filter(visit_id__in=visit_ids, snippet__isnull=False).values_list("snippet_id", flat=True)
    ) | set(
        CartCorrection.objects.filter(visit_id__in=visit_ids, snippet__isnull=False).values_list(
            "snippet_id", flat=True
        )
    )
    purged = snippets_media_purge(snippet_ids=snippet_ids, now=now, builds_wait=False)
    labels = labels_erase(event_ids=event_ids, snippet_ids=snippet_ids, now=now)
    control_record(
        store_id=store.pk,
        actor=by,
        action="shopper_erased",
        target=f"store:{store.code}",
        new={"visits": len(visits), "snippets": len(purged), "labels": labels},
    )
    return len(visits)
