"""Exports never delay receipts: every background task runs on a queue the settings name, and
the documented worker set-up serves every queue, with dataset exports on workers of their own
(one worker per everything would let a long COCO export hold the billing webhooks back)."""

import itertools
import re
import shlex
from pathlib import Path

from django.conf import settings

from annotator.tasks import dataset_build
from validation.tasks import webhook_deliver

README = Path(__file__).resolve().parent.parent / "README.md"


def documented_workers() -> list[set[str]]:
    """The queues each `worker` command of README's deployment section serves (every queue
    unless `--queue-name` says otherwise, less `--exclude-queues`)."""
    queues = set(settings.TASKS["default"]["QUEUES"])
    workers = []
    for line in re.findall(r"^\s*python manage\.py worker .*$", README.read_text(), flags=re.M):
        words = shlex.split(line, comments=True)
        options = dict(itertools.pairwise(words))
        served = set(options.get("--queue-name", "*").split(","))
        if "*" in served:
            served = queues - set(options.get("--exclude-queues", "").split(","))
        workers.append(served)
    return workers


def test_every_task_runs_on_a_configured_queue():
    queues = settings.TASKS["default"]["QUEUES"]
    assert webhook_deliver.queue_name == "webhooks" and "webhooks" in queues
    assert dataset_build.queue_name == "exports" and "exports" in queues


def test_the_documented_workers_serve_every_queue_and_exports_apart_from_webhooks():
    workers = documented_workers()
    assert workers, "README documents no worker command"
    assert set().union(*workers) == set(settings.TASKS["default"]["QUEUES"])
    for served in workers:
        assert not {"exports", "webhooks"} <= served, f"a worker serving {sorted(served)} lets exports delay receipts"
