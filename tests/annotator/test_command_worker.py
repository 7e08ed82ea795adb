"""`manage.py worker`: every queue by default, a database that goes away and comes back
(a restart: every connection cut, new ones refused for a while) does not end it, and it
writes a heartbeat that /readyz reads (a stopped worker shows as gone)."""

import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from annotator.models import WorkerBeat
from tests.annotator.worker_tasks import echo
from tests.validation.test_webhooks_worker_kill import worker_env

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_done(result_id, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = DBTaskResult.objects.get(id=result_id).status
        if status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
            return status
        time.sleep(0.1)
    return DBTaskResult.objects.get(id=result_id).status


def database_restart(*, down_for: float) -> None:
    """Cut every session of the test database but this test's, and refuse new ones for
    `down_for` seconds (from the maintenance database: a database cannot lock itself out)."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} ALLOW_CONNECTIONS false")
            try:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                    [name, own],
                )
                time.sleep(down_for)
            finally:
                cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} ALLOW_CONNECTIONS true")
    finally:
        admin.close()


MANAGE_WORKER = [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"]


@pytest.fixture
def worker():
    process = subprocess.Popen(
        MANAGE_WORKER,
        env=worker_env(),
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_the_worker_serves_every_queue_and_outlives_a_database_restart(worker):
    first = echo.enqueue("before")
    assert wait_done(first.id) == TaskResultStatus.SUCCESSFUL, "the worker runs tasks of the default queue"

    database_restart(down_for=2.5)
    assert worker.poll() is None, worker.communicate()[0]
    after = echo.using(queue_name="exports").enqueue("after")
    webhooks = echo.using(queue_name="webhooks").enqueue("webhooks")

    assert wait_done(after.id) == TaskResultStatus.SUCCESSFUL
    assert wait_done(webhooks.id) == TaskResultStatus.SUCCESSFUL
    assert worker.poll() is None


def test_the_worker_writes_its_heartbeat_and_a_stopped_worker_shows_as_gone(client, settings):
    env = worker_env() | {"WORKER_BEAT_S": "1"}
    process = subprocess.Popen(
        [*MANAGE_WORKER, "--exclude-queues", "exports,redaction"], env=env, cwd=BASE_DIR, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not (beats := list(WorkerBeat.objects.all())) and time.monotonic() < deadline:
            time.sleep(0.1)
        [first] = beats
        assert (first.queues, first.pid) == (["default", "webhooks"], process.pid)
        time.sleep(1.5)
        assert WorkerBeat.objects.get().seen_at > first.seen_at, "it beats while idle"

        queues = client.get("/readyz").json()["workers"]["queues"]
        assert (queues["webhooks"]["workers"], queues["default"]["workers"], queues["exports"]["workers"]) == (1, 1, 0)
    finally:
        process.terminate()
        process.wait(10)

    settings.WORKER_ALIVE_S = 2
    time.sleep(2.5)
    response = client.get("/readyz")
    assert response.status_code == 200, "no worker is not 'not ready' for the web tier"
    webhooks = response.json()["workers"]["queues"]["webhooks"]
    assert webhooks["workers"] == 0 and webhooks["last_seen_s"] >= 2
