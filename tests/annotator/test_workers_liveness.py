"""Worker liveness: every `manage.py worker` writes a heartbeat with its queues; `/readyz` and
the supervisor's console say, per task queue, whether a live worker serves it and how long
its oldest task has waited. /readyz stays 200 without workers (it is the web tier's
readiness); the console says it in words, in a warning style."""

import datetime as dt

import jsonschema
import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from annotator.models import WorkerBeat
from annotator.services.workers import worker_beat
from config.openapi import OPERATIONS
from tests.annotator.worker_tasks import echo
from tests.conftest import session_client


def beat(worker_id: str, queues: list[str], seconds_ago: float) -> None:
    now = timezone.now()
    worker_beat(
        worker_id=worker_id,
        queues=queues,
        hostname="worker-host",
        pid=4242,
        started_at=now - dt.timedelta(hours=1),
        now=now - dt.timedelta(seconds=seconds_ago),
    )


def waiting_since(queue: str, seconds: float, *, later: bool = False) -> None:
    """A task of `queue` enqueued `seconds` ago (or due only in an hour, with `later`)."""
    run = echo.using(queue_name=queue, run_after=timezone.now() + dt.timedelta(hours=1) if later else None)
    result = run.enqueue("x")
    DBTaskResult.objects.filter(id=result.id).update(enqueued_at=timezone.now() - dt.timedelta(seconds=seconds))


@pytest.mark.django_db
def test_a_beat_updates_the_worker_row_and_forgets_workers_gone_for_a_day():
    beat("old", ["exports"], seconds_ago=2 * 86400)
    beat("w1", ["default", "webhooks"], seconds_ago=10)
    beat("w1", ["default", "webhooks"], seconds_ago=1)

    rows = list(WorkerBeat.objects.values_list("worker_id", "queues", "hostname", "pid"))
    assert rows == [("w1", ["default", "webhooks"], "worker-host", 4242)]
    assert (timezone.now() - WorkerBeat.objects.get().seen_at).total_seconds() < 5


@pytest.mark.django_db
def test_readyz_reports_workers_and_the_oldest_waiting_task_per_queue(client, settings):
    settings.WORKER_ALIVE_S = 30
    beat("receipts", ["default", "webhooks"], seconds_ago=3)
    beat("exports", ["exports"], seconds_ago=300)  # stopped five minutes ago
    waiting_since("webhooks", 40)
    waiting_since("webhooks", 10)
    waiting_since("webhooks", 500, later=True)  # a retry scheduled for later is not waiting
    waiting_since("exports", 120)

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["workers"]["alive_within_s"] == 30
    queues = body["workers"]["queues"]
    assert list(queues) == settings.TASKS["default"]["QUEUES"]
    assert queues["webhooks"]["workers"] == 1 and 3 <= queues["webhooks"]["last_seen_s"] <= 5
    assert queues["webhooks"]["waiting"] == 2 and 40 <= queues["webhooks"]["oldest_waiting_s"] <= 42
    assert queues["exports"]["workers"] == 0 and 300 <= queues["exports"]["last_seen_s"] <= 302
    assert queues["exports"]["waiting"] == 1 and 120 <= queues["exports"]["oldest_waiting_s"] <= 122
    assert queues["default"] == {
        "workers": 1,
        "last_seen_s": queues["default"]["last_seen_s"],
        "waiting": 0,
        "oldest_waiting_s": None,
    }


@pytest.mark.django_db
def test_readyz_stays_ready_without_any_worker_and_says_so(client):
    waiting_since("webhooks", 60)

    response = client.get("/readyz")

    assert response.status_code == 200
    webhooks = response.json()["workers"]["queues"]["webhooks"]
    assert webhooks["workers"] == 0 and webhooks["last_seen_s"] is None
    assert webhooks["oldest_waiting_s"] >= 60


def test_the_console_says_which_queues_have_a_live_worker_in_words(carol, settings):
    settings.WORKER_ALIVE_S = 30
    beat("receipts", ["default", "webhooks"], seconds_ago=3)
    beat("exports", ["exports"], seconds_ago=300)
    waiting_since("exports", 130)

    page = session_client(carol).get("/supervise/panel/?name=workers")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Background work" in html
    assert "Receipts worker: last seen 3 s ago" in html or "Receipts worker: last seen 4 s ago" in html
    assert '<span class="warn" role="status">No worker has served exports for 5 min' in html
    assert "1 waiting, the oldest for 2 min 1" in html
    assert "Other background work worker: last seen" in html


def test_the_console_warns_when_no_worker_was_ever_seen(carol):
    html = session_client(carol).get("/supervise/").content.decode()

    assert "No worker has served receipts in the last day" in html
    assert "No worker has served exports in the last day" in html


@pytest.mark.django_db
def test_the_readyz_answer_is_what_the_openapi_schema_says(client):
    beat("receipts", ["default", "webhooks"], seconds_ago=3)
    waiting_since("webhooks", 5)
    schema = OPERATIONS["/readyz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    jsonschema.validate(client.get("/readyz").json(), schema)
