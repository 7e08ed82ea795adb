"""Exports and redactions never delay receipts, nor each other: every background task runs on a
queue the settings name, and the documented worker set-up serves every queue, with dataset
exports and snippet redactions on workers of their own (one worker per everything would let a
long COCO export, or a minute of face detection, hold the billing webhooks back, and a
redaction queued behind an hour of exports would keep its task unclaimable that long)."""

import itertools
import re
import shlex
from pathlib import Path

from django.conf import settings

from annotator.tasks import dataset_build, snippet_redact
from validation.tasks import webhook_deliver

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def documented_workers() -> list[set[str]]:
    """The queues each `worker` command of README's deployment section serves (every queue
    unless `--queue-name` says otherwise, less `--exclude-queues`)."""
    return workers_in(README.read_text(), r"^\s*python manage\.py worker .*$")


def workers_in(text: str, pattern: str = r"^.*manage\.py worker .*$") -> list[set[str]]:
    """The queues each `manage.py worker` command line in `text` serves."""
    queues = set(settings.TASKS["default"]["QUEUES"])
    workers = []
    for line in re.findall(pattern, text, flags=re.M):
        words = shlex.split(line.split("manage.py", 1)[1], comments=True)
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
    assert snippet_redact.queue_name == "redaction" and "redaction" in queues


def test_the_documented_workers_serve_every_queue_and_exports_apart_from_webhooks():
    workers = documented_workers()
    assert workers, "README documents no worker command"
    assert set().union(*workers) == set(settings.TASKS["default"]["QUEUES"])
    for served in workers:
        assert not {"exports", "webhooks"} <= served, f"a worker serving {sorted(served)} lets exports delay receipts"


def test_redactions_have_workers_of_their_own():
    for served in documented_workers():
        if "redaction" in served:
            assert served == {"redaction"}, f"a worker serving {sorted(served)} mixes redactions with other work"


def test_make_run_and_the_systemd_units_start_the_documented_workers():
    documented = {frozenset(served) for served in documented_workers()}
    for source in [ROOT / "Makefile", *sorted((ROOT / "deploy" / "systemd").glob("*worker*.service"))]:
        started = {frozenset(served) for served in workers_in(source.read_text())}
        assert started, f"{source.name} starts no worker"
        if source.name == "Makefile":
            assert started == documented, source.name
        else:
            assert started <= documented, source.name
    units = {
        frozenset(served)
        for unit in (ROOT / "deploy" / "systemd").glob("*.service")
        for served in workers_in(unit.read_text())
    }
    assert units == documented
