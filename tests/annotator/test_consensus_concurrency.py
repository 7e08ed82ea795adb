"""Consensus under real concurrency, on PostgreSQL: eight associates (threads, each with its
own connection) claim and submit snippet tasks that want five answers each."""

import uuid
from collections import Counter

import pytest

from annotator.models import Annotation, Label, Slot, Task
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from tests.annotator.test_claim_concurrency import claimable_left, run_threads
from tests.annotator.work import add_tasks, associates, work_queue

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASKS = 40
OVERLAP = 5
WORKERS = 8


def test_overlap_five_with_eight_associates_gives_five_distinct_answers_and_one_outcome_per_task(s001):
    s001.snippet_overlap = OVERLAP
    s001.save(update_fields=["snippet_overlap"])
    workers = associates(s001, WORKERS)
    queue = work_queue(s001, *workers, overlap=OVERLAP)
    tasks = add_tasks(queue, TASKS)
    # Half the tasks everyone agrees on; on the other half no three of five say the same
    # (worker n names SKU n % 5: only pairs of workers share one), so they go to adjudication.
    disputed = {task.pk for task in tasks[::2]}
    premature: list = []

    def work(n: int) -> None:
        me = workers[n]
        while True:
            lease = task_claim(associate=me, queue=queue)
            if lease is None:
                if left := claimable_left(me, queue):
                    premature.append((me.username, left))
                    continue
                return
            sku = f"SKU-000{n % 5 + 1}" if lease.task.pk in disputed else "SKU-0001"
            result = {
                "action": "take",
                "sku": sku,
                "boxes": [{"frame": 1, "label": "hand", "x": 10 + n, "y": 10, "w": 40, "h": 40}],
            }
            task_submit(associate=me, task_id=lease.task.pk, result=result, submission_id=uuid.uuid4())

    errors = run_threads(WORKERS, work)

    assert errors == []
    assert premature == []
    per_task = Counter(Annotation.objects.filter(task__in=tasks).values_list("task_id", flat=True))
    assert per_task == dict.fromkeys((task.pk for task in tasks), OVERLAP)
    pairs = set(Annotation.objects.filter(task__in=tasks).values_list("task_id", "associate_id"))
    assert len(pairs) == TASKS * OVERLAP  # never twice by the same associate
    assert not Slot.objects.filter(task__in=tasks).exclude(state=Slot.State.DONE).exists()
    assert Task.objects.filter(pk__in=[t.pk for t in tasks], status=Task.Status.DONE).count() == TASKS

    labels = Counter(Label.objects.values_list("task_id", flat=True))
    agreed = {task.pk for task in tasks} - disputed
    assert labels == dict.fromkeys(agreed, 1)  # exactly one merged label per agreed task
    assert set(Label.objects.values_list("source", flat=True)) == {"consensus"}
    for label in Label.objects.all():
        assert label.agreement == 1.0
        assert len({a["associate"] for a in label.provenance["answers"]}) == OVERLAP
    adjudications = Counter(Task.objects.filter(purpose="adjudication").values_list("adjudicates_id", flat=True))
    assert adjudications == dict.fromkeys(disputed, 1)  # exactly one adjudication per disagreement
