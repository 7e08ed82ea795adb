"""README "Deploying on several machines", run: two gunicorn web servers and the three kinds of
`manage.py worker` on one PostgreSQL database, media in an S3-compatible store (moto's
server), and billing's webhook receiver on loopback. Visits, a snippet, claims by several
associates through both servers, receipts and a dataset build go through it; afterwards
nothing is lost or duplicated, and no upload waits unredacted in the bucket."""

import hashlib
import itertools
import json
import threading
import time
import uuid
from collections import Counter

import httpx
import psycopg2
import pytest

from annotator.services.snippet_redaction import HOLDING_PREFIX
from annotator.synth import make_clip
from tests.deployment import Deployment, ObjectStore, manage, own_database, production_environment
from tests.validation.bodies import recent_visit
from tests.validation.webhook_receiver import Receiver

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

VISITS = 16
SNIPPETS = 2
ASSOCIATES = 4
OVERLAP = 2  # both queues: every task is done by two associates
CATALOG = "sku,name,price_minor,currency\n" + "".join(f"SKU-{n:04d},Product {n},{100 * n},EUR\n" for n in range(1, 6))
SETUP = """
from annotator.models import Queue
from annotator.services.queues import DEFAULT_QUEUE_NAMES
from catalog.models import Camera, Store

store = Store.objects.create(code="S001", name="Central")
Camera.objects.create(store=store, code="C01")
for kind, name in DEFAULT_QUEUE_NAMES.items():
    Queue.objects.create(store=store, kind=kind, name=name, overlap={overlap})
"""


@pytest.fixture
def deployment(tmp_path):
    bucket = ObjectStore().start()
    try:
        with own_database() as database_url:
            env = production_environment(
                database_url,
                MEDIA_ROOT=str(tmp_path / "media"),  # must stay empty: media go to the bucket
                WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
                **bucket.environment,
            )
            deployment = Deployment(env=env, logs=tmp_path)
            deployment.bucket = bucket
            try:
                yield deployment
            finally:
                deployment.stop()
    finally:
        bucket.stop()


def worker(*options: str) -> list[str]:
    return manage("worker", *options, "--no-reload", "--interval", "0.2")


def token_of(output: str) -> str:
    return output.strip().splitlines()[-1].split()[-1]


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    conn.close()
    return rows


def work(servers: list[str], token: str, done: list, errors: list) -> None:
    """An associate: claim on one server, submit on the other, until nothing is left."""
    headers = {"Authorization": f"Token {token}"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=30) for url in servers]
    try:
        for n in itertools.count():
            claim_on, submit_on = clients[n % 2], clients[(n + 1) % 2]
            claimed = claim_on.post("/api/v1/tasks/next/", json={})
            if claimed.status_code == 204:
                return
            if claimed.status_code != 200:
                errors.append(f"claim: {claimed.status_code} {claimed.text[:300]}")
                return
            lease = claimed.json()
            task = lease["task"]
            if task["kind"] == "visit_validation":
                result = {
                    "events": [{"event": e["id"], "verdict": "confirm"} for e in task["payload"]["events"]],
                    "missed": [],
                }
            else:
                result = {"action": "none", "boxes": []}
            body = {"result": result, "submission_id": str(uuid.uuid4()), "token": lease["token"]}
            submitted = submit_on.post(f"/api/v1/tasks/{task['id']}/submit/", json=body)
            if submitted.status_code != 200:
                errors.append(f"submit: {submitted.status_code} {submitted.text[:300]}")
                return
            done.append(task["id"])
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        for client in clients:
            client.close()


def test_two_web_servers_and_three_kinds_of_workers_on_one_database_lose_and_duplicate_nothing(deployment, tmp_path):
    env, bucket = deployment.env, deployment.bucket
    receiver = Receiver().start()
    try:
        # Once per release, from one machine; then the data only an admin would enter.
        deployment.run("migrate", "--noinput")
        deployment.run("shell", "-c", SETUP.format(overlap=OVERLAP))
        (tmp_path / "catalog.csv").write_text(CATALOG)
        deployment.run("import_catalog", "S001", str(tmp_path / "catalog.csv"))
        receiver.secret = deployment.run("add_webhook", receiver.url, "--events", "receipt.issued").strip()
        integration = token_of(deployment.run("create_integration", "cv-s001", "--stores", "S001"))
        tokens = [
            token_of(deployment.run("add_user", f"associate{n}", "--role", "associate", "--stores", "S001", "--token"))
            for n in range(ASSOCIATES)
        ]

        servers = [deployment.web("web-a"), deployment.web("web-b")]
        deployment.start("worker", worker("--exclude-queues", "exports,redaction"))
        deployment.start("exports-worker", worker("--queue-name", "exports"))
        deployment.start("redaction-worker", worker("--queue-name", "redaction"))

        cv = [
            httpx.Client(base_url=url, headers={"Authorization": f"Token {integration}"}, timeout=30) for url in servers
        ]
        # Visits the model is unsure about (each becomes a review task), half through each server.
        for n in range(VISITS):
            posted = cv[n % 2].post("/api/v1/visits/", json=recent_visit("S001", confidences=(0.5, 0.6)))
            assert posted.status_code == 201, posted.text
        clips = [make_clip(seconds=1, fps=10, width=64, height=48, seed=n) for n in range(SNIPPETS)]
        snippet_ids = []
        for n, clip in enumerate(clips):
            uploaded = cv[n % 2].post(
                "/api/v1/snippets/",
                data={
                    "store": "S001",
                    "camera": "C01",
                    "external_id": f"snip-{n}",
                    "started_at": "2026-11-24T10:03:11+01:00",
                    "annotate": "true",
                },
                files={"file": (f"clip-{n}.mp4", clip.data, "video/mp4")},
            )
            assert uploaded.status_code == 201, uploaded.text
            assert uploaded.json()["task_id"]
            snippet_ids.append(uploaded.json()["id"])
        # Redacted by the redaction worker (read back through the other server); until then
        # their tasks could not be claimed.
        deadline = time.monotonic() + 120
        for n, snippet_id in enumerate(snippet_ids):
            while (detail := cv[(n + 1) % 2].get(f"/api/v1/snippets/{snippet_id}/").json())["status"] == "redacting":
                assert time.monotonic() < deadline, detail
                time.sleep(0.2)
            assert detail["status"] == "ready", detail

        # Several associates at once, each claiming on one server and submitting on the other.
        done, errors = [], []
        threads = [
            threading.Thread(target=work, args=(servers[::step], token, done, errors))
            for step, token in zip(itertools.cycle([1, -1]), tokens, strict=False)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        tasks = VISITS + SNIPPETS
        assert len(done) == tasks * OVERLAP
        assert Counter(Counter(done).values()) == {OVERLAP: tasks}

        # Every task done, once per slot, by distinct associates.
        database_url = env["DATABASE_URL"]
        assert query(database_url, "SELECT status, count(*) FROM annotator_task GROUP BY status") == [("done", tasks)]
        per_slot = query(
            database_url,
            "SELECT t.id, count(a.id), count(DISTINCT a.associate_id), count(DISTINCT s.index) "
            "FROM annotator_task t JOIN annotator_slot s ON s.task_id = t.id "
            "LEFT JOIN annotator_annotation a ON a.slot_id = s.id GROUP BY t.id",
        )
        assert len(per_slot) == tasks
        assert {row[1:] for row in per_slot} == {(OVERLAP, OVERLAP, OVERLAP)}

        # One receipt per visit, one webhook event per receipt, delivered once with its id.
        receipts = dict(
            query(
                database_url,
                "SELECT r.id::text, e.id FROM validation_receipt r "
                "JOIN validation_webhookevent e ON e.receipt_id = r.id",
            )
        )
        assert len(receipts) == VISITS
        assert query(database_url, "SELECT count(*) FROM validation_receipt") == [(VISITS,)]
        deadline = time.monotonic() + 60
        while len(receiver.received) < VISITS and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate would come now
        assert [r.error for r in receiver.received] == [""] * VISITS
        webhook_ids = {r.payload["data"]["id"]: r.webhook_id for r in receiver.received}
        assert len(webhook_ids) == VISITS
        assert webhook_ids == {receipt: f"msg_{event.hex}" for receipt, event in receipts.items()}
        assert query(database_url, "SELECT status, count(*) FROM validation_webhookdelivery GROUP BY status") == [
            ("delivered", VISITS)
        ]

        # A dataset built by the exports worker, into the bucket, served by either server.
        created = cv[0].post("/api/v1/datasets/", json={"name": "All", "format": "jsonl", "filters": {"store": "S001"}})
        assert created.status_code == 202, created.text
        dataset_id = created.json()["id"]
        deadline = time.monotonic() + 60
        while (detail := cv[1].get(f"/api/v1/datasets/{dataset_id}/").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, detail
            time.sleep(0.2)
        assert detail["status"] == "ready", detail
        downloaded = cv[0].get(f"/api/v1/datasets/{dataset_id}/download/")
        assert downloaded.status_code == 200
        assert hashlib.sha256(downloaded.content).hexdigest() == detail["sha256"]
        labels = [json.loads(line) for line in downloaded.content.splitlines()]
        assert len(labels) == detail["items"] > 0

        # Media are in the bucket, and nowhere on a disk of the machines.
        keys = bucket.keys()
        [(dataset_file, dataset_size)] = query(
            database_url, "SELECT file, size_bytes FROM annotator_dataset WHERE id = %s", (dataset_id,)
        )
        assert keys.get(dataset_file) == dataset_size == len(downloaded.content)
        snippet_files = query(database_url, "SELECT file, poster, thumbnail FROM annotator_snippet")
        assert len(snippet_files) == SNIPPETS
        assert {name for row in snippet_files for name in row} <= set(keys)
        assert not [key for key in keys if key.startswith(HOLDING_PREFIX)]
        assert not (tmp_path / "media").exists()
        assert deployment.alive() == ["web-a", "web-b", "worker", "exports-worker", "redaction-worker"]
        for client in cv:
            client.close()
    finally:
        receiver.stop()
    for name in ("worker", "exports-worker", "redaction-worker", "web-a", "web-b"):
        assert "Traceback" not in deployment.log(name), deployment.log(name)
