"""Server time of the workbench's task screens with realistic data (Django test client).

    .venv/bin/python bench/workbench.py [--renders 50]

Runs as production does (DEBUG off, static files collected into a temporary STATIC_ROOT,
hashed names from the manifest) on PostgreSQL (BENCH_DATABASE_URL, default the local
server). Creates a throwaway database (dropped at the end) and a temporary MEDIA_ROOT, loads a
store with a 60-product catalog with packshots, real H.264 clips, visits of 12 events (4 of
them unsure, with clips and three candidates each) and a 1280x720 snippet with ~30 predicted
boxes, and a 600-frame 1280x720 snippet boxed by the model on every frame (pre-filled as
tracks), then times with Django's test client:

- `visit_page`: GET of the visit-validation screen (full page), `--renders` times;
- `snippet_page`: GET of the snippet-annotation screen (full page);
- `submit_next`: POST submit of a visit → the next task's screen in the same answer;
- `product_search`: the type-ahead (htmx partial);
- `tracks_page`: GET of the snippet screen of the 600-frame clip (its tracks built from the
  model's boxes at each render);
- `tracks_submit_next`: POST submit of that clip's result with tracks (validated, stored as
  a label) → the next task's screen in the same answer.

Prints one JSON object with p50/p95 in milliseconds per measure. Target: task screens < 50 ms.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=50)
    args = parser.parse_args()

    import os

    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",  # the test client speaks plain HTTP
        SECRET_KEY="bench",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        TEST_DATABASE_NAME="loupe_bench_workbench",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    # No setup_test_environment(): its instrumented template rendering would be measured too.
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    media = tempfile.TemporaryDirectory(prefix="loupe-bench-media-")
    settings.MEDIA_ROOT = media.name
    static = tempfile.TemporaryDirectory(prefix="loupe-bench-static-")
    settings.STATIC_ROOT = static.name
    call_command("collectstatic", "--noinput", verbosity=0)
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(json.dumps(run(args.renders), indent=2))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        media.cleanup()
        static.cleanup()


def run(renders: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    from annotator.synth import make_clip
    from catalog import roles
    from catalog.models import Camera, Store
    from tests.browser.workbench import dress_catalog, ingest_clip, ingest_visit, join_queue
    from tests.factories import UserFactory

    store = Store.objects.create(code="S001", name="Bench Market", sla_minutes=15)
    Camera.objects.create(store=store, code="C01")
    dress_catalog(store, count=60)
    associate = UserFactory(username="bench-associate", role=roles.ASSOCIATE, stores=[store])
    join_queue(store, "visit_validation", associate)
    join_queue(store, "snippet_annotation", associate)
    clips = [ingest_clip(store, f"bench-clip-{n}")[0].snippet for n in range(4)]

    def events(n: int) -> list[dict]:
        out = []
        for i in range(12):
            unsure = i % 3 == 0
            event = {"sku": f"SKU-{(n + i) % 60 + 1:04d}", "confidence": 0.55 if unsure else 0.97}
            if unsure:
                event["snippet"] = clips[i // 3].external_id
                event["candidates"] = [{"sku": f"SKU-{(n + i + k) % 60 + 1:04d}", "score": 0.1} for k in (1, 2, 3)]
            out.append(event)
        return out

    visits = [ingest_visit(store, events(n), external_id=f"bench-visit-{n}").task for n in range(renders + 2)]
    truth = make_clip(seconds=1.5, fps=10, width=1280, height=720, seed=len("bench-snippet"))
    predictions = [
        {"frame": b["frame"], "label": b["label"], "box": [b["x"], b["y"], b["w"], b["h"]], "score": 0.8}
        | ({"sku": "SKU-0003"} if b["label"] == "product" else {})
        for b in truth.boxes
    ]
    snippet_task = ingest_clip(store, "bench-snippet", width=1280, height=720, annotate=True, predictions=predictions)[
        0
    ].task

    client = Client()
    client.force_login(associate)
    client.post(reverse("annotator:claim_queue", args=[visits[0].queue_id]))
    visit_url = reverse("annotator:task", args=[visits[0].pk])
    client.get(visit_url)  # warm templates
    visit_page = timed(lambda: client.get(visit_url), renders)
    search_url = reverse("annotator:product_search")
    search = timed(lambda: client.get(search_url, {"task": visits[0].pk, "q": "yog"}, HTTP_HX_REQUEST="true"), renders)

    submit_next = []
    for task in visits[:renders]:
        body = {
            "result": {"events": [{"event": e["id"], "verdict": "confirm"} for e in task.payload["events"]]},
            "submission_id": str(uuid.uuid4()),
        }
        start = time.perf_counter()
        response = client.post(
            reverse("annotator:submit", args=[task.pk]), body, content_type="application/json", HTTP_HX_REQUEST="true"
        )
        submit_next.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
    # Finish the visits so that the snippet task is the one claimed next.
    for task in visits[renders:]:
        client.post(reverse("annotator:claim_queue", args=[task.queue_id]))
        body = {"result": {"events": [{"event": e["id"], "verdict": "confirm"} for e in task.payload["events"]]}}
        body["submission_id"] = str(uuid.uuid4())
        client.post(reverse("annotator:submit", args=[task.pk]), body, content_type="application/json")
    client.post(reverse("annotator:claim_queue", args=[snippet_task.queue_id]))
    snippet_url = reverse("annotator:task", args=[snippet_task.pk])
    client.get(snippet_url)
    snippet_page = timed(lambda: client.get(snippet_url), renders)
    tracks_page, tracks_submit, tracked = run_tracks(client, store, snippet_task, renders)
    return {
        "visit_events": 12,
        "snippet_predicted_boxes": len(predictions),
        "visit_page": percentiles(visit_page),
        "snippet_page": percentiles(snippet_page),
        "submit_next": percentiles(submit_next),
        "product_search": percentiles(search),
        **tracked,
        "tracks_page": percentiles(tracks_page),
        "tracks_submit_next": percentiles(tracks_submit),
        "target_ms": 50,
    }


def run_tracks(client, store, snippet_task, renders: int) -> tuple[list[float], list[float], dict]:
    """The 600-frame clip: `renders + 1` tasks on it (the same snippet), the first claimed
    through the submit of `snippet_task`, each submitted with the model's tracks accepted."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from django.utils import timezone

    from annotator.services.queues import task_enqueue
    from annotator.services.snippet_redaction import snippet_redact
    from annotator.services.snippets import snippet_ingest
    from annotator.synth import make_clip
    from annotator.tracks import tracks_from_predictions

    clip = make_clip(seconds=40, fps=15, width=1280, height=720, seed=600)
    predictions = [
        {"frame": b["frame"], "label": b["label"], "box": [b["x"], b["y"], b["w"], b["h"]], "score": 0.8}
        for b in clip.boxes
    ]
    first = snippet_ingest(
        store=store,
        camera=store.cameras.get(code="C01"),
        external_id="bench-tracks",
        started_at=timezone.now() - dt.timedelta(minutes=3),
        upload=SimpleUploadedFile(f"bench-tracks.{clip.container}", clip.data),
        annotate=True,
        predictions=predictions,
    ).task
    snippet_redact(snippet_id=first.subject_id)  # what the redaction worker does
    first.refresh_from_db()
    snippet = first.subject_id
    tasks = [first] + [
        task_enqueue(
            queue=first.queue,
            subject_id=snippet,
            due_at=timezone.now() + dt.timedelta(minutes=30, seconds=n),
            payload=first.payload,
        )
        for n in range(renders)
    ]
    boxes = [{"frame": b["frame"], "label": b["label"], **{k: b[k] for k in "xywh"}} for b in clip.boxes]
    tracks, single = tracks_from_predictions(boxes, first.payload["frame_count"])
    result = {"action": "take", "sku": "SKU-0003", "boxes": single, "tracks": tracks}
    submit = reverse("annotator:submit", args=[snippet_task.pk])
    body = {"result": {"action": "none", "boxes": []}, "submission_id": str(uuid.uuid4())}
    response = client.post(submit, body, content_type="application/json", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and str(first.pk).encode() in response.content, response.content[:300]
    url = reverse("annotator:task", args=[first.pk])
    client.get(url)
    page = timed(lambda: client.get(url), renders)
    submits = []
    for task in tasks[:renders]:
        body = {"result": result, "submission_id": str(uuid.uuid4())}
        start = time.perf_counter()
        response = client.post(
            reverse("annotator:submit", args=[task.pk]), body, content_type="application/json", HTTP_HX_REQUEST="true"
        )
        submits.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
    figures = {
        "tracks_clip_frames": first.payload["frame_count"],
        "tracks_predicted_boxes": len(predictions),
        "tracks": len(tracks),
        "tracks_keyframes": sum(len(t["keyframes"]) for t in tracks),
        "tracks_single_boxes": len(single),
    }
    return page, submits, figures


if __name__ == "__main__":
    main()
