"""Builders for the workbench's browser tests: a catalog with packshots, real clips ingested
through `snippet_ingest`, visits through `visit_ingest`, and the page helpers.

The same clips come back test after test, so each distinct clip is encoded once (labelling.clip_of)
and redacted once per session; every ingest still runs the redaction worker's
whole path (unseal, probe, store, open the task) with the cached redacted bytes. Redaction
itself is tested in tests/annotator/test_redaction.py.
"""

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from annotator.models import QueueMembership
from annotator.services.queues import queue_for
from catalog.models import Product
from catalog.services import product_set_image
from tests.annotator.labelling import clip_of
from tests.annotator.redacting import ingest_redacted
from tests.browser.conftest import login
from validation.demo.catalog import demo_products, product_image
from validation.services import visit_ingest

CODEC = "h264"


def dress_catalog(store, count: int = 12) -> list[Product]:
    """Give the store demo names, prices and packshots for SKU-0001..count."""
    products = []
    for demo in demo_products(count):
        product, _ = Product.objects.update_or_create(
            store=store,
            sku=demo.sku,
            defaults={"name": demo.name, "price_minor": demo.base_price_minor, "currency": store.currency},
        )
        product_set_image(product=product, image_file=io.BytesIO(product_image(demo)))
        products.append(product)
    return products


def ingest_clip(store, external_id: str, *, scene: str = "take", width: int = 320, height: int = 240, **kwargs):
    clip = clip_of(seconds=1.5, fps=10, width=width, height=height, scene=scene, seed=len(external_id), codec=CODEC)
    result = ingest_redacted(
        store=store,
        camera=store.cameras.get(code="C01"),
        external_id=external_id,
        started_at=timezone.now() - dt.timedelta(minutes=3),
        upload=SimpleUploadedFile(f"{external_id}.{clip.container}", clip.data),
        reuse_redaction=True,
        **kwargs,
    )
    return result, clip


def ingest_visit(store, events: list[dict], *, external_id: str, exited_minutes_ago: float = 3):
    now = timezone.now()
    body = {
        "external_id": external_id,
        "store": store.code,
        "shopper": "anon-browser-shopper",
        "entered_at": (now - dt.timedelta(minutes=exited_minutes_ago + 8)).isoformat(),
        "exited_at": (now - dt.timedelta(minutes=exited_minutes_ago)).isoformat(),
        "model_version": "jwo-test",
        "events": [
            {
                "external_id": f"e{n + 1}",
                "action": "take",
                "quantity": 1,
                "occurred_at": (now - dt.timedelta(minutes=exited_minutes_ago + 7 - n)).isoformat(),
                "camera": "C01",
                **event,
            }
            for n, event in enumerate(events)
        ],
    }
    return visit_ingest(store=store, payload=body)


def join_queue(store, kind: str, *users):
    queue = queue_for(store=store, kind=kind)
    for user in users:
        QueueMembership.objects.get_or_create(queue=queue, user=user)
    return queue


def wait_for_task(page, task_id) -> None:
    page.wait_for_function(
        "id => document.documentElement.dataset.workbenchTask === id", arg=str(task_id), timeout=10_000
    )


def start_task(page, user, task) -> None:
    """Sign in as `user`, open the work home and take the next task with `s`: `task`."""
    login(page, user)
    page.goto("/work/")
    page.keyboard.press("s")
    wait_for_task(page, task.pk)


def open_snippet(page, user, task) -> None:
    """`start_task` on a snippet task, until its clip can play and the player shows it."""
    start_task(page, user, task)
    page.wait_for_function("v => v.readyState >= 2", arg=page.locator("#workbench video.clip").element_handle())
    player_shown(page)


def player_shown(page) -> None:
    """Chromium gives the video's box the clip's size a frame or so after its data came
    (readyState 2 with a 0×0 box was seen under load); the box canvas covers that box."""
    expect(page.locator("#wb-canvas")).to_be_visible()


def press(page, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def snippet_task_with_model_boxes(store, associate, name: str, *, width: int = 1280, height: int = 720):
    """A snippet-annotation task on a synthetic clip (someone takes a product) whose model
    boxes, every third frame, are the clip's own truth, for `associate` to claim. Returns
    (task, predictions)."""
    dress_catalog(store)
    join_queue(store, "snippet_annotation", associate)
    truth = clip_of(seconds=1.5, fps=10, width=width, height=height, scene="take", seed=8)
    predictions = [
        {"frame": b["frame"], "label": b["label"], "box": [b["x"], b["y"], b["w"], b["h"]], "score": 0.8}
        | ({"sku": "SKU-0003"} if b["label"] == "product" else {})
        for b in truth.boxes
        if b["frame"] % 3 == 0
    ]
    result, _ = ingest_clip(store, name, width=width, height=height, annotate=True, predictions=predictions)
    return result.task, predictions
