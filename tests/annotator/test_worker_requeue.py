"""`manage.py worker` runs again a task that a lost database connection cut short (recorded as
failed with OperationalError/InterfaceError), at most MAX_RUNS runs in all; a task's own
failure stays failed."""

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from annotator.management.commands.worker import MAX_RUNS, ReconnectingWorker
from tests.annotator.worker_tasks import fail, lose_the_database

pytestmark = pytest.mark.django_db


def worker() -> ReconnectingWorker:
    return ReconnectingWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w-test",
        excluded_queue_names=[],
    )


def run_once(result_id) -> DBTaskResult:
    row = DBTaskResult.objects.get(id=result_id)
    row.claim("w-test")
    worker().run_task(row)
    return DBTaskResult.objects.get(id=result_id)


def test_a_task_cut_short_by_the_database_runs_again_up_to_max_runs():
    result = lose_the_database.enqueue()
    for _ in range(MAX_RUNS - 1):
        assert run_once(result.id).status == TaskResultStatus.READY
    last = run_once(result.id)
    assert last.status == TaskResultStatus.FAILED
    assert len(last.worker_ids) == MAX_RUNS


def test_a_tasks_own_failure_stays_failed():
    assert run_once(fail.enqueue().id).status == TaskResultStatus.FAILED
