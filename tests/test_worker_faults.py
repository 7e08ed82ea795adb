"""Fault test: the database cuts the workers' connections while they deliver a burst of
receipts and build a dataset (issue #21). Real `manage.py worker` processes as README
documents them (receipts and the rest; exports; no snippet is redacted here, so no redaction
worker), on this test's PostgreSQL database, and
billing's receiver on loopback.

The cuts are `pg_terminate_backend` on every session of the database but the test's: one
while a delivery is in flight (the receiver holds the request, so the cut lands between the
claim and the record every time), one as soon as the dataset build is running, and two more
during the burst. Afterwards every receipt has arrived, each under its one `webhook-id`
(again with the same id where its attempt was cut short: at-least-once, nothing else
duplicated), the dataset is ready with every label once, no task row is left behind, and
both workers are still running."""

import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from annotator.models import Dataset, WorkerBeat
from annotator.services.datasets import dataset_create
from tests.annotator.labelling import event_label
from tests.conftest import token_client
from tests.validation.bodies import recent_visit
from tests.validation.test_webhooks_worker_kill import worker_env
from tests.validation.webhook_receiver import HANG, Receiver
from validation.models import Receipt, WebhookDelivery, WebhookEvent
from validation.webhooks import webhook_endpoint_create

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parent.parent
RECEIPTS = 30
LABELS = 40
DEADLINE_S = 40


def worker(*options: str) -> list[str]:
    """README's worker command, polling faster than its default."""
    return [sys.executable, "manage.py", "worker", *options, "--no-reload", "--interval", "0.2"]


def cut_connections() -> int:
    """End every session of the test database but this test's own (a failover, a restart)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def wait_for(condition, what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def workers(tmp_path):
    env = worker_env() | {"WORKER_BEAT_S": "1"}
    started = {}
    for name, command in {
        "worker": worker("--exclude-queues", "exports,redaction"),
        "exports-worker": worker("--queue-name", "exports"),
    }.items():
        with (tmp_path / f"{name}.log").open("w") as log:
            started[name] = subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    yield started
    for process in started.values():
        process.terminate()
    for process in started.values():
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_cut_database_connections_lose_no_receipt_and_no_dataset(
    s001, s001_integration, alice, carol, receiver, workers, tmp_path
):
    for _ in range(LABELS):
        event_label(store=s001, associate=alice)
    _, receiver.secret = webhook_endpoint_create(url=receiver.url, events=["receipt.issued"])
    receiver.script = [HANG]  # the first delivery stays in flight until released
    receiver.start()
    wait_for(lambda: WorkerBeat.objects.count() == 2, "both workers' heartbeats")
    started = time.monotonic()

    cv = token_client(s001_integration)
    for _ in range(RECEIPTS):
        posted = cv.post("/api/v1/visits/", recent_visit("S001", confidences=(0.99, 0.99)), format="json")
        assert posted.status_code == 201 and posted.json()["status"] == "auto_accepted", posted.content

    # Cut 1: a delivery is in flight (claimed, its request held by billing).
    assert receiver.got_request.wait(DEADLINE_S), "no delivery started"
    cuts = [cut_connections()]
    receiver.release.set()

    # Cut 2: as soon as the dataset build runs.
    dataset = dataset_create(name="under fire", format="jsonl", filters={}, by=carol)
    wait_for(lambda: Dataset.objects.get(pk=dataset.pk).status != Dataset.Status.QUEUED, "the build to start")
    cuts.append(cut_connections())

    # Cuts 3 and 4: while the burst goes on.
    for _ in range(2):
        time.sleep(0.5)
        cuts.append(cut_connections())
    assert cuts[0] >= 1, "the workers had no session to cut"

    def done() -> bool:
        delivered = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count()
        return delivered == RECEIPTS and Dataset.objects.get(pk=dataset.pk).status == Dataset.Status.READY

    def logs() -> str:
        return "\n".join(f"--- {name}\n{(tmp_path / f'{name}.log').read_text()}" for name in workers)

    try:
        wait_for(done, "every delivery and the dataset", timeout=DEADLINE_S - (time.monotonic() - started))
    except AssertionError:
        states = list(WebhookDelivery.objects.values_list("status", "attempts"))
        raise AssertionError(f"{states}\n{logs()}") from None
    time.sleep(0.5)  # a late duplicate would arrive now

    # Every receipt arrived, verified, under its event's one webhook-id; retries reuse it.
    events = {str(event.receipt_id): event.webhook_id for event in WebhookEvent.objects.all()}
    assert Receipt.objects.count() == len(events) == RECEIPTS
    assert [r.error for r in receiver.received] == [""] * len(receiver.received)
    ids_per_receipt = defaultdict(set)
    for received in receiver.received:
        ids_per_receipt[received.payload["data"]["id"]].add(received.webhook_id)
    assert ids_per_receipt == {receipt: {webhook_id} for receipt, webhook_id in events.items()}
    # At-least-once, and only that: a receipt arrives again only when an attempt was cut short.
    arrivals = len(receiver.received)
    assert RECEIPTS < arrivals <= RECEIPTS + len(cuts), arrivals  # the held one came twice

    # The dataset: ready, every label once, the file as its checksum says.
    dataset.refresh_from_db()
    assert (dataset.status, dataset.items) == (Dataset.Status.READY, LABELS)
    with default_storage.open(dataset.file.name) as file:
        lines = file.read().splitlines()
    assert len(lines) == LABELS
    assert sorted(json.loads(line)["position"] for line in lines) == list(range(LABELS))  # each label once

    # Nothing left behind for the recover commands, and both workers carried on. A run a cut
    # interrupted after its work was done (the delivery recorded, then the cut) goes back to
    # READY once its worker has reconnected (a second or more) and runs again, finding nothing
    # to do: the rows settle a moment after the work. A row left RUNNING or READY never does.
    def settled() -> bool:
        return set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}

    try:
        wait_for(settled, "every task row to succeed", timeout=15)
    except AssertionError:
        rows = list(DBTaskResult.objects.values_list("task_path", "status"))
        raise AssertionError(f"{rows}\n{logs()}") from None
    assert [name for name, process in workers.items() if process.poll() is not None] == [], logs()
