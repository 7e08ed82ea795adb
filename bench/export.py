"""Dataset export throughput and worker memory on PostgreSQL.

    .venv/bin/python bench/export.py [--labels 200000] [--keyframes 2000]

Creates a fresh database (dropped at the end), migrates it and loads `--labels` visit-event
labels with bulk SQL (20 events per visit, a shopper token planted in their provenance),
plus real synthetic clips (`annotator.synth`, through `snippet_ingest`) with snippet labels
annotating `--keyframes` frames in all. Then, for JSONL and CSV over all visit-event labels
and COCO over the snippet labels: `dataset_create` (the frozen INSERT … SELECT) timed here,
and `dataset_build` run in a fresh process, as the worker would, which reports its own time
and its peak RSS (VmHWM) before and after the build.
Targets: JSONL and CSV >= 20,000 rows/s, peak RSS growth < 100 MB. Prints one JSON object.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import admin, database_url

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DB_NAME = "loupe_bench_export"
EVENTS_PER_VISIT = 20
FRAMES_PER_LABEL = 5
LABELS_PER_CLIP = 10

LABELS_SQL = """
INSERT INTO annotator_label (id, txid, store_id, kind, task_id, annotation_id, associate_id, created_at,
                             model_version, predicted, human, verdict, snippet_id, event_id, provenance)
SELECT gen_random_uuid(), 0, t.store_id, 'visit_event', a.task_id, a.id, a.associate_id,
       now() - make_interval(secs => e * 7 + n.k),
       'model-7',
       jsonb_build_object('action', 'take', 'sku', 'SKU-' || lpad((1 + (n.k + e) %% 200)::text, 4, '0'),
                          'quantity', 1, 'confidence', round(((n.k * 7 + e) %% 100) / 100.0, 2),
                          'candidates', '[]'::jsonb),
       CASE WHEN e %% 10 = 0 THEN NULL
            ELSE jsonb_build_object('action', 'take', 'quantity', 1,
                                    'sku', 'SKU-' || lpad((1 + (n.k + e + (e %% 10 = 1)::int) %% 200)::text, 4, '0'))
       END,
       CASE e %% 10 WHEN 0 THEN 'reject' WHEN 1 THEN 'correct' ELSE 'confirm' END,
       NULL, gen_random_uuid(),
       jsonb_build_object('visit', t.subject_id::text, 'occurred_at', '2026-05-01T10:00:00+00:00',
                          'shopper', 'anon-bench-shopper', 'event_external_id', 'e' || e)
FROM annotator_annotation a
JOIN annotator_task t ON t.id = a.task_id
CROSS JOIN LATERAL (SELECT abs(hashtext(a.id::text)) %% 1000 AS k) n
CROSS JOIN generate_series(0, %(events)s - 1) e
WHERE t.kind = 'visit_validation'
"""

BUILD = """
import json, sys, time
import django
django.setup()
import av, PIL.Image  # noqa: F401  (what the worker has loaded anyway)
from annotator.services.datasets import dataset_build

def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

before = hwm_kb()
cpu = time.process_time()
import cProfile, os, pstats
profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
started = time.perf_counter()
if profile:
    profile.enable()
dataset = dataset_build(dataset_id=sys.argv[1])
if profile:
    profile.disable()
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
seconds = time.perf_counter() - started
cpu = time.process_time() - cpu
after = hwm_kb()
print(json.dumps({
    "status": dataset.status, "error": dataset.error, "seconds": seconds, "cpu_s": cpu, "items": dataset.items,
    "counts": dataset.manifest.get("counts"), "size_bytes": dataset.size_bytes,
    "vmhwm_before_kb": before, "vmhwm_after_kb": after,
}))
"""


def run(env: dict, *args: str) -> dict:
    """Run a Python snippet in a fresh process; its last stdout line is JSON."""
    out = subprocess.run([PY, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if os.environ.get("BENCH_PROFILE"):
        print(out.stderr[-12000:], file=sys.stderr)
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed(env: dict, labels: int, keyframes: int) -> dict:
    """Load the data in a child process (Django set up on the bench database)."""
    script = f"""
import datetime as dt, io, json, uuid
import django
django.setup()
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone
from annotator.models import Annotation, Queue, Slot, Task, Label
from annotator.services.snippet_redaction import snippet_redact
from annotator.services.snippets import snippet_ingest
from annotator.synth import make_clip
from catalog.models import Camera, Product, Store, StoreAccess

now = timezone.now()
boss = User.objects.create_user("bench-supervisor")
boss.groups.add(Group.objects.get_or_create(name="supervisor")[0])
associate = User.objects.create_user("bench-associate")
stores = {{}}
for code in ("B001", "B002"):
    store = Store.objects.create(code=code, name="Bench " + code)
    Camera.objects.create(store=store, code="C01")
    Product.objects.bulk_create(
        Product(store=store, sku=f"SKU-{{n:04d}}", name=f"Product {{n}}", price_minor=100 + n, currency="EUR")
        for n in range(1, 201)
    )
    StoreAccess.objects.create(store=store, user=boss)
    stores[code] = store

def tasks(store, kind, n):
    queue = Queue.objects.create(store=store, kind=kind, name=kind)
    made = Task.objects.bulk_create(
        Task(queue=queue, store=store, kind=kind, subject_id=uuid.uuid4(), due_at=now, status="done",
             annotations_done=1, done_at=now)
        for _ in range(n)
    )
    slots = Slot.objects.bulk_create(
        Slot(task=t, index=0, state="done", queue=queue, due_at=now, created_at=now, holder=associate)
        for t in made
    )
    return Annotation.objects.bulk_create(
        Annotation(task=t, slot=s, store=store, associate=associate, kind=kind, result={{}}, submission_id=uuid.uuid4())
        for t, s in zip(made, slots)
    )

started = dt.datetime.now()
tasks(stores["B001"], "visit_validation", {labels // EVENTS_PER_VISIT})
with connection.cursor() as cursor:
    cursor.execute({LABELS_SQL!r}, {{"events": {EVENTS_PER_VISIT}}})
    visit_labels = cursor.rowcount

snippet_labels = {keyframes // FRAMES_PER_LABEL}
clips = max(1, snippet_labels // {LABELS_PER_CLIP})
annotations = tasks(stores["B002"], "snippet_annotation", snippet_labels)
camera = Camera.objects.get(store=stores["B002"])
rows = []
for c in range(clips):
    clip = make_clip(seconds=4.0, fps=15, width=320, height=240, scene=("take", "put_back")[c % 2], seed=c)
    snippet = snippet_ingest(store=stores["B002"], camera=camera, external_id=f"clip-{{c}}", started_at=now,
                             upload=io.BytesIO(clip.data)).snippet
    snippet = snippet_redact(snippet_id=snippet.pk)  # what the redaction worker does
    for k in range({LABELS_PER_CLIP}):
        framed = sorted({{b["frame"] for b in clip.boxes}})
        frames = {{framed[(k * {FRAMES_PER_LABEL} + j) % len(framed)] for j in range({FRAMES_PER_LABEL})}}
        boxes = [b for b in clip.boxes if b["frame"] in frames]
        annotation = annotations[len(rows)]
        rows.append(Label(store=stores["B002"], kind="snippet", task_id=annotation.task_id,
                          annotation=annotation, associate=associate, created_at=now, model_version="model-7",
                          predicted=[], human={{"action": clip.scene, "sku": "SKU-0001", "boxes": boxes}},
                          verdict="annotated", snippet=snippet, provenance={{}}))
        if len(rows) == snippet_labels:
            break
Label.objects.bulk_create(rows)
print(json.dumps({{"visit_labels": visit_labels, "snippet_labels": len(rows), "clips": clips,
                  "seed_s": (dt.datetime.now() - started).total_seconds()}}))
"""
    return run(env, "-c", script)


def create(env: dict, fmt: str, store: str) -> dict:
    script = f"""
import json, time
import django
django.setup()
from django.contrib.auth.models import User
from annotator.services.datasets import dataset_create
started = time.perf_counter()
dataset = dataset_create(name="bench {fmt}", format="{fmt}", filters={{"store": "{store}"}},
                         by=User.objects.get(username="bench-supervisor"))
print(json.dumps({{"id": str(dataset.pk), "items": dataset.items, "create_s": time.perf_counter() - started}}))
"""
    return run(env, "-c", script)


def build(env: dict, dataset_id: str) -> dict:
    out = subprocess.run([PY, "-c", BUILD, dataset_id], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=200_000)
    parser.add_argument("--keyframes", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (to profile against it)")
    args = parser.parse_args()
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    media = tempfile.TemporaryDirectory(prefix="loupe-bench-export-")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(base, DB_NAME),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "MEDIA_ROOT": media.name,
        "PYTHONPATH": str(ROOT),
    }
    admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(base, f"CREATE DATABASE {DB_NAME}")
    try:
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        loaded = seed(env, args.labels, args.keyframes)
        result: dict = {"loaded": loaded, "load_average_before_exports": os.getloadavg()}
        for fmt, store in (("jsonl", "B001"), ("csv", "B001"), ("coco", "B002")):
            created = create(env, fmt, store)
            built = build(env, created["id"])
            if built["status"] != "ready":
                raise SystemExit(f"{fmt} build failed: {built['error']}")
            counts = built["counts"] or {}
            figures = {
                "items": created["items"],
                "create_s": round(created["create_s"], 3),
                "build_s": round(built["seconds"], 3),
                "worker_cpu_s": round(built["cpu_s"], 3),
                "size_bytes": built["size_bytes"],
                "peak_rss_growth_mb": round((built["vmhwm_after_kb"] - built["vmhwm_before_kb"]) / 1024, 1),
                "peak_rss_mb": round(built["vmhwm_after_kb"] / 1024, 1),
            }
            if fmt == "coco":
                figures |= {
                    "images": counts.get("images"),
                    "annotations": counts.get("annotations"),
                    "images_per_s": round(counts.get("images", 0) / built["seconds"], 1),
                    "images_per_worker_cpu_s": round(counts.get("images", 0) / built["cpu_s"], 1),
                }
            else:
                figures["rows_per_s"] = round(counts.get("rows", 0) / built["seconds"])
                figures["rows_per_worker_cpu_s"] = round(counts.get("rows", 0) / built["cpu_s"])
            result[fmt] = figures
        result["targets"] = {
            "rows_per_s >= 20000": all(result[f]["rows_per_s"] >= 20_000 for f in ("jsonl", "csv")),
            "peak_rss_growth_mb < 100": all(result[f]["peak_rss_growth_mb"] < 100 for f in ("jsonl", "csv", "coco")),
        }
        result["load_average"] = os.getloadavg()
        print(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            with contextlib.suppress(Exception):
                admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        media.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
