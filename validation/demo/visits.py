"""Demo visits over the last six hours with a realistic confidence mix (most auto-accepted,
some pending review, a few breaching their SLA), through the ingestion the API uses.
"""

import datetime as dt
import functools
import random

from django.db import transaction

from annotator.models import Snippet
from catalog.models import Store
from validation.demo.catalog import STORES, store_for
from validation.demo.snippets import PlannedSnippet, snippet_plan
from validation.demo.summary import DemoSummary, Log
from validation.models import Receipt, Visit
from validation.services import StoreCatalog, visit_ingest
from validation.services.receipts import receipt_turnaround

MODEL_VERSIONS = ("jwo-2026.11.1", "jwo-2026.11.2")  # the newer one went live 4 hours ago


@functools.cache
def _popularity(n_products: int) -> list[float]:
    """A few best sellers and a long tail, like any shop."""
    return [1 / k**0.7 for k in range(1, n_products + 1)]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def visit_payload(*, n: int, seed: int, now: dt.datetime, snippets: list[PlannedSnippet]) -> dict:
    """The POST /api/v1/visits/ body of the n-th demo visit.

    About one visit in five has an event the model is unsure about (pending review); most
    of those left the store minutes ago, a few long enough ago to have breached the SLA.
    The rest are sure (every event ≥ 0.9) and spread over the last six hours.
    """
    rng = random.Random(f"{seed}-visit-{n}")
    code, n_cameras, n_products = store_for(n)
    unsure = rng.random() < 0.2
    if not unsure:
        minutes_ago = rng.uniform(2, 6 * 60)
    elif rng.random() < 0.15:
        minutes_ago = rng.uniform(25, 150)  # breached: due_at = exited_at + sla_minutes is long past
    else:
        minutes_ago = rng.uniform(0.5, 13)
    exited_at = now - dt.timedelta(minutes=minutes_ago)
    entered_at = exited_at - dt.timedelta(minutes=rng.uniform(2, 25))
    n_events = rng.choices(range(1, 13), weights=(8, 12, 14, 13, 11, 9, 7, 5, 4, 3, 2, 2))[0]
    moments = sorted(rng.uniform(0, 1) for _ in range(n_events))
    with_snippet = [s for s in snippets if s.store_code == code and s.scene == "take"]
    low = set(rng.sample(range(n_events), k=max(1, round(n_events * rng.uniform(0.1, 0.4))))) if unsure else set()
    taken: dict[str, int] = {}
    events = []
    for i, t in enumerate(moments):
        snippet = None
        if taken and rng.random() < 0.12:
            action, sku, quantity = "put_back", rng.choice(sorted(taken)), 1
        else:
            action, quantity = "take", rng.choices((1, 2, 3), weights=(88, 10, 2))[0]
            if with_snippet and rng.random() < (0.7 if i in low else 0.08):
                snippet = rng.choice(with_snippet)
                sku = snippet.sku
            else:
                sku = f"SKU-{rng.choices(range(1, n_products + 1), weights=_popularity(n_products))[0]:04d}"
        taken[sku] = taken.get(sku, 0) + (quantity if action == "take" else -quantity)
        if taken[sku] <= 0:
            del taken[sku]
        confidence = rng.uniform(0.35, 0.86) if i in low else rng.uniform(0.905, 0.995)
        # Confusable neighbours on the shelf are the model's next guesses.
        sku_n = int(sku[4:])
        n_candidates = rng.choices((0, 1, 2, 3), weights=(1, 3, 3, 2) if i in low else (8, 3, 1, 0))[0]
        neighbours = [m for m in range(sku_n - 4, sku_n + 5) if m != sku_n and 1 <= m <= n_products]
        candidates, left = [], 1 - confidence
        for m in rng.sample(neighbours, k=min(n_candidates, len(neighbours))):
            score = round(rng.uniform(0.2, 0.9) * left, 3)
            left -= score
            candidates.append({"sku": f"SKU-{m:04d}", "score": score})
        event = {
            "external_id": f"e{i + 1}",
            "action": action,
            "sku": sku,
            "quantity": quantity,
            "confidence": round(confidence, 3),
            "occurred_at": _iso(entered_at + (exited_at - entered_at) * t),
            "camera": snippet.camera_code if snippet else f"C{rng.randint(1, n_cameras):02d}",
            "candidates": candidates,
        }
        if snippet:
            event["snippet"] = snippet.external_id
        events.append(event)
    return {
        "external_id": f"v-demo-{n + 1:06d}",
        "store": code,
        "shopper": f"anon-{rng.getrandbits(24):06x}",
        "entered_at": _iso(entered_at),
        "exited_at": _iso(exited_at),
        "model_version": MODEL_VERSIONS[1] if minutes_ago < 4 * 60 else MODEL_VERSIONS[0],
        "events": events,
    }


def _as_if_received_live(visit: Visit, receipt: Receipt | None, *, rng: random.Random) -> None:
    """Demo visits spread over the last hours are ingested now; date their arrival (and an
    auto-accepted visit's receipt) a few seconds after the shopper left, as the live system
    would have, so the dashboard's turnaround figures read like a real store's."""
    received_at = visit.exited_at + dt.timedelta(seconds=rng.uniform(1.0, 4.0))
    Visit.objects.filter(pk=visit.pk).update(received_at=received_at)
    if receipt is not None:
        issued_at = received_at + dt.timedelta(seconds=rng.uniform(0.05, 0.5))
        Receipt.objects.filter(pk=receipt.pk).update(
            issued_at=issued_at, **receipt_turnaround(visit=visit, issued_at=issued_at)
        )


def seed_visits(
    *,
    stores: dict[str, Store],
    count: int,
    n_snippets: int,
    seed: int,
    now: dt.datetime,
    log: Log,
    summary: DemoSummary,
) -> None:
    existing = set(Visit.objects.values_list("store__code", "external_id"))
    present = set(Snippet.objects.values_list("store__code", "external_id"))
    snippets = [s for s in snippet_plan(count=n_snippets, seed=seed) if (s.store_code, s.external_id) in present]
    # One catalog per store, loaded once, shared by all its visits (as the bulk endpoint does).
    catalogs = {code: StoreCatalog(store) for code, store in stores.items()}
    for code, _, n_cameras, n_products in STORES:
        catalogs[code].load(
            skus=[f"SKU-{m:04d}" for m in range(1, n_products + 1)],
            cameras=[f"C{m:02d}" for m in range(1, n_cameras + 1)],
            snippets=[s.external_id for s in snippets if s.store_code == code],
        )
    chunk = 50
    for start in range(0, count, chunk):
        # One outer transaction per chunk: on SQLite, one commit per visit would dominate.
        with transaction.atomic():
            for n in range(start, min(count, start + chunk)):
                payload = visit_payload(n=n, seed=seed, now=now, snippets=snippets)
                if (payload["store"], payload["external_id"]) in existing:
                    continue
                code = payload["store"]
                result = visit_ingest(store=stores[code], payload=payload, catalog=catalogs[code])
                _as_if_received_live(result.visit, result.receipt, rng=random.Random(seed * 100_003 + n))
                summary.add(f"visits {result.visit.status}")
        log(f"    {min(count, start + chunk)}/{count} visits")
