"""Queue figures, depth samples, throughput and associate figures on hand-built data."""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotator.models import Annotation, Label, QueueDepthSample, QueueMembership, Slot, TaskExclusion
from annotator.selectors.associates import associate_figures
from annotator.selectors.console import throughput
from annotator.selectors.queues import queue_depth_series, store_queue_summaries
from annotator.services.review import annotation_reject
from annotator.services.submit import task_release, task_submit
from annotator.services.work import task_claim
from catalog.models import Store
from tests.annotator.work import add_tasks, work_queue
from tests.factories import UserFactory

RESULT = {"action": "none", "boxes": []}


@pytest.fixture
def stores(s001):
    return Store.objects.filter(pk=s001.pk)


def test_store_queue_summaries_count_depth_leases_and_deadlines(stores, s001, s002, alice, bob):
    queue = work_queue(s001, alice, name="Front", overlap=2)
    add_tasks(queue, 2, due_in=30)  # 4 slots
    add_tasks(queue, 1, due_in=3)  # at risk, 2 slots
    add_tasks(queue, 1, due_in=-2)  # breached, 2 slots
    task_claim(associate=alice)  # one live lease (on the breached task: earliest due)
    add_tasks(work_queue(s002, bob, name="North"), 5)

    [summary] = store_queue_summaries(stores=stores)

    assert (summary.depth, summary.in_progress, summary.at_risk, summary.breached) == (7, 1, 1, 1)
    assert summary.oldest_waiting_s >= 0


def test_the_sampler_writes_one_sample_per_queue_and_prunes_old_ones(stores, s001, alice):
    queue = work_queue(s001, alice, name="Front")
    add_tasks(queue, 3)
    task_claim(associate=alice)
    QueueDepthSample.objects.create(queue=queue, at=timezone.now() - dt.timedelta(days=8), depth=1, in_progress=0)

    call_command("queue_depth_sample")

    sample = QueueDepthSample.objects.get()
    assert (sample.depth, sample.in_progress) == (2, 1)
    series = queue_depth_series(stores=stores, since=timezone.now() - dt.timedelta(hours=1))
    assert list(series) == ["S001 · Front"]
    assert series["S001 · Front"][0]["depth"] == 2


def submit(associate, queue=None, active_seconds=None):
    lease = task_claim(associate=associate, queue=queue)
    if active_seconds is not None:
        Slot.objects.filter(pk=lease.slot_id).update(active_seconds=active_seconds)
    annotation = task_submit(associate=associate, task_id=lease.task.pk, result=RESULT, submission_id=uuid.uuid4())
    # The heartbeat gap counted at submit is zero or tiny; pin the measured time for exact medians.
    if active_seconds is not None:
        Annotation.objects.filter(pk=annotation.pk).update(active_seconds=active_seconds)
    return annotation


def test_throughput_per_associate(stores, s001, alice):
    other = UserFactory(username="dave", role="associate", stores=[s001])
    queue = work_queue(s001, alice, other, name="Front")
    add_tasks(queue, 5)
    for seconds in (10, 20, 60):
        submit(alice, active_seconds=seconds)
    submit(other, active_seconds=5)
    old = submit(other, active_seconds=5)
    Annotation.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=3))

    rows = {row.associate: row for row in throughput(stores=stores)}

    assert (rows["alice"].last_hour, rows["alice"].last_day, rows["alice"].median_active_s) == (3, 3, 20.0)
    assert (rows["dave"].last_hour, rows["dave"].last_day, rows["dave"].median_active_s) == (1, 2, 5.0)


def test_associate_figures(stores, s001, alice, carol):
    other = UserFactory(username="dave", role="associate", stores=[s001])
    queue = work_queue(s001, alice, other, name="Front", overlap=2)
    tasks = add_tasks(queue, 4)
    first = submit(alice, active_seconds=30)
    second = submit(alice, active_seconds=50)
    annotation_reject(supervisor=carol, annotation=second, comment="sloppy")
    lease = task_claim(associate=alice)
    task_release(associate=alice, task_id=lease.task.pk, reason="video does not load")
    twin = submit(other, active_seconds=40)
    assert twin.task == first.task
    # Labels on one event: alice and dave agree; an audit disagrees with alice.
    event = uuid.uuid4()
    for annotation, verdict in ((first, "confirm"), (twin, "confirm")):
        Label.objects.create(
            store=s001,
            kind="visit_event",
            task=annotation.task,
            annotation=annotation,
            associate=annotation.associate,
            created_at=timezone.now(),
            verdict=verdict,
            event_id=event,
        )
    audit_task = tasks[3]
    audit_task.purpose = "audit"
    audit_task.save(update_fields=["purpose"])
    auditor = UserFactory(username="erin", role="associate", stores=[s001])
    QueueMembership.objects.create(queue=queue, user=auditor)
    audit = Annotation.objects.create(
        task=audit_task,
        slot=audit_task.slots.first(),
        store_id=audit_task.store_id,
        associate=auditor,
        kind=audit_task.kind,
        result=RESULT,
        submission_id=uuid.uuid4(),
    )
    Label.objects.create(
        store=s001,
        kind="visit_event",
        task=audit_task,
        annotation=audit,
        associate=auditor,
        created_at=timezone.now(),
        verdict="correct",
        event_id=event,
    )

    figures = {f.username: f for f in associate_figures(stores=stores, since=timezone.now() - dt.timedelta(days=7))}

    alice_figures = figures["alice"]
    assert (alice_figures.tasks_done, alice_figures.active_s, alice_figures.rejected) == (1, 30.0, 1)
    assert alice_figures.median_s_by_kind == {"snippet_annotation": 30.0}
    assert (alice_figures.releases, alice_figures.recent_release_reasons) == (1, ["video does not load"])
    assert alice_figures.corrections == 0
    assert alice_figures.agreement_others == (1, 1)
    assert alice_figures.agreement_audits == (0, 1)
    assert alice_figures.stores == ["S001"]
    assert figures["dave"].tasks_done == 1
    assert TaskExclusion.objects.filter(user=alice).count() == 2
