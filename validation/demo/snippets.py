"""Demo video snippets: real H.264 shelf clips (`annotator.synth`), a third of them queued for
annotation with model predictions.
"""

import datetime as dt
import random
from dataclasses import dataclass

from django.core.files.base import ContentFile

from annotator.models import Snippet
from annotator.services.snippet_redaction import snippet_redact
from annotator.services.snippets import snippet_ingest
from annotator.synth import make_clip
from catalog.models import Camera, Store
from validation.demo.catalog import STORES, demo_products, store_for
from validation.demo.summary import DemoSummary, Log


@dataclass(frozen=True)
class PlannedSnippet:
    external_id: str
    store_code: str
    camera_code: str
    scene: str
    sku: str
    annotate: bool
    seed: int
    minutes_ago: float


def snippet_plan(*, count: int, seed: int) -> list[PlannedSnippet]:
    plan = []
    for n in range(count):
        rng = random.Random(f"{seed}-snippet-{n}")
        code, n_cameras, n_products = store_for(n)
        plan.append(
            PlannedSnippet(
                external_id=f"clip-{n + 1:04d}",
                store_code=code,
                camera_code=f"C{rng.randint(1, n_cameras):02d}",
                scene=rng.choices(("take", "put_back", "none"), weights=(5, 3, 2))[0],
                sku=f"SKU-{rng.randint(1, n_products):04d}",
                annotate=n % 9 in (0, 4, 8),  # a third, in both stores
                seed=seed * 1000 + n,
                minutes_ago=rng.uniform(5, 6 * 60),
            )
        )
    return plan


def _predictions(boxes: list[dict], *, sku: str, width: int, height: int, rng: random.Random) -> list[dict]:
    """What a model would have predicted: the ground truth, thinned out, jittered, scored."""
    predictions = []
    for box in boxes:
        if box["frame"] % 3 or rng.random() < 0.15:
            continue
        x = max(0, min(width - 2, box["x"] + rng.randint(-4, 4)))
        y = max(0, min(height - 2, box["y"] + rng.randint(-4, 4)))
        w = max(2, min(width - x, box["w"] + rng.randint(-5, 5)))
        h = max(2, min(height - y, box["h"] + rng.randint(-5, 5)))
        prediction = {"frame": box["frame"], "label": box["label"], "box": [x, y, w, h]}
        if box["label"] == "product":
            prediction["sku"] = sku
            prediction["score"] = round(rng.uniform(0.45, 0.9), 2)
        else:
            prediction["score"] = round(rng.uniform(0.7, 0.97), 2)
        predictions.append(prediction)
    return predictions


def seed_snippets(
    *, stores: dict[str, Store], count: int, seed: int, now: dt.datetime, log: Log, summary: DemoSummary
) -> None:
    plan = snippet_plan(count=count, seed=seed)
    existing = set(Snippet.objects.values_list("store__code", "external_id"))
    colors = {p.sku: p.color for p in demo_products(max(n for *_, n in STORES))}
    for i, planned in enumerate(plan, start=1):
        if (planned.store_code, planned.external_id) not in existing:
            store = stores[planned.store_code]
            clip = make_clip(scene=planned.scene, seed=planned.seed, product_color=colors[planned.sku])
            rng = random.Random(planned.seed)
            ingested = snippet_ingest(
                store=store,
                camera=Camera.objects.get(store=store, code=planned.camera_code),
                external_id=planned.external_id,
                started_at=now - dt.timedelta(minutes=planned.minutes_ago),
                upload=ContentFile(clip.data, name=f"{planned.external_id}.mp4"),
                annotate=planned.annotate,
                predictions=(
                    _predictions(clip.boxes, sku=planned.sku, width=clip.width, height=clip.height, rng=rng)
                    if planned.annotate
                    else None
                ),
            )
            # The demo is complete before the workers start: redacted here, by the same
            # service the redaction worker runs (its queued task then finds nothing to do).
            snippet_redact(snippet_id=ingested.snippet.pk)
            summary.add("snippets")
        if i % 10 == 0 or i == count:
            log(f"    {i}/{count} snippets")
