"""`manage.py worker`: every queue by default, and a database that goes away and comes back
(a restart: every connection cut, new ones refused for a while) does not end it."""

import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

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


@pytest.fixture
def worker():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"],
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
