"""The associates page's figures on hand-built rows: the stores, the window, rejected work,
kinds, releases, corrections and agreement, for a supervisor of some stores (the store is read
kept on each annotation) and of every store."""

import datetime as dt
import uuid

import pytest
from django.db.models import F
from django.utils import timezone

from annotator.models import Annotation, Label, Slot, Task, TaskExclusion
from annotator.selectors import associates
from annotator.selectors.associates import associate_figures
from annotator.services.review import annotation_reject
from catalog.models import Store
from tests.annotator.work import add_tasks, work_queue
from tests.factories import UserFactory

RESULT = {"action": "none", "boxes": []}
WEEK = dt.timedelta(days=7)


def figures(*stores) -> dict:
    since = timezone.now() - WEEK
    return {
        f.username: f
        for f in associate_figures(stores=Store.objects.filter(pk__in=[s.pk for s in stores]), since=since)
    }


def annotate(associate, task, *, seconds: float, index: int = 0, days_ago: float = 0) -> Annotation:
    """A submitted annotation on the task's slot `index`, `days_ago` days ago."""
    slot = task.slots.get(index=index)
    Slot.objects.filter(pk=slot.pk).update(holder=associate, state=Slot.State.DONE)
    Task.objects.filter(pk=task.pk).update(annotations_done=F("annotations_done") + 1)
    annotation = Annotation.objects.create(
        task=task,
        slot=slot,
        store_id=task.store_id,
        associate=associate,
        kind=task.kind,
        result=RESULT,
        submission_id=uuid.uuid4(),
        active_seconds=seconds,
    )
    if days_ago:
        Annotation.objects.filter(pk=annotation.pk).update(created_at=timezone.now() - dt.timedelta(days=days_ago))
    return annotation


def label(annotation, event, verdict="confirm", *, human=None, days_ago: float = 0) -> Label:
    return Label.objects.create(
        store_id=annotation.task.store_id,
        kind="visit_event",
        task=annotation.task,
        annotation=annotation,
        associate=annotation.associate,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
        verdict=verdict,
        human=human,
        event_id=event,
    )


@pytest.fixture
def ana(s001, s002):
    return UserFactory(username="ana", role="associate", stores=[s001, s002])


@pytest.fixture
def dave(s001, s002):
    return UserFactory(username="dave", role="associate", stores=[s001, s002])


def test_work_in_two_stores_counts_for_the_supervisors_stores_only(s001, s002, ana):
    front = work_queue(s001, ana, name="Front")
    north = work_queue(s002, ana, name="North")
    here, also, old = add_tasks(front, 3)
    (there,) = add_tasks(north, 1)
    label(annotate(ana, here, seconds=30), uuid.uuid4(), "correct")
    annotate(ana, also, seconds=50)
    annotate(ana, old, seconds=500, days_ago=8)
    label(annotate(ana, there, seconds=70), uuid.uuid4(), "missed")

    one = figures(s001)["ana"]
    both = figures(s001, s002)["ana"]

    assert (one.tasks_done, one.active_s, one.median_s_by_kind, one.corrections) == (
        2,
        80.0,
        {"snippet_annotation": 40.0},
        1,
    )
    assert one.stores == ["S001"]
    assert (both.tasks_done, both.active_s, both.median_s_by_kind, both.corrections) == (
        3,
        150.0,
        {"snippet_annotation": 50.0},
        2,
    )
    assert both.stores == ["S001", "S002"]


@pytest.mark.parametrize("with_other_store", [False, True], ids=["every-store", "some-stores"])
def test_rejected_work_is_counted_apart_from_tasks_done(s001, s002, ana, carol, with_other_store):
    if with_other_store:
        work_queue(s002, ana, name="North")
    tasks = add_tasks(work_queue(s001, ana, name="Front"), 3)
    annotate(ana, tasks[0], seconds=10)
    annotate(ana, tasks[1], seconds=20)
    annotation_reject(supervisor=carol, annotation=annotate(ana, tasks[2], seconds=90), comment="boxes missing")

    [ana_figures] = associate_figures(stores=Store.objects.filter(pk=s001.pk), since=timezone.now() - WEEK)

    assert (ana_figures.tasks_done, ana_figures.active_s, ana_figures.rejected) == (2, 30.0, 1)
    assert ana_figures.median_s_by_kind == {"snippet_annotation": 15.0}


def test_medians_by_kind_include_a_kind_no_queue_has(s001, s002, ana):
    snippets = add_tasks(work_queue(s001, ana, name="Clips"), 3)
    visits = add_tasks(work_queue(s001, ana, kind="visit_validation", name="Visits"), 3)
    for task, seconds in zip(snippets[:2], (10, 20), strict=True):
        annotate(ana, task, seconds=seconds)
    for task, seconds in zip(visits, (40, 60, 80), strict=True):
        annotate(ana, task, seconds=seconds)
    legacy = annotate(ana, snippets[2], seconds=99)
    Annotation.objects.filter(pk=legacy.pk).update(kind="legacy_kind")

    ana_figures = figures(s001)["ana"]

    assert (ana_figures.tasks_done, ana_figures.active_s) == (6, 309.0)
    assert list(ana_figures.median_s_by_kind.items()) == [
        ("legacy_kind", 99.0),
        ("snippet_annotation", 15.0),
        ("visit_validation", 60.0),
    ]
    assert figures(s001, s002)["ana"].median_s_by_kind == ana_figures.median_s_by_kind


def test_releases_count_the_window_and_the_stores_with_the_latest_three_reasons(s001, s002, ana):
    front = add_tasks(work_queue(s001, ana, name="Front"), 5)
    (north,) = add_tasks(work_queue(s002, ana, name="North"), 1)
    now = timezone.now()
    for hours, task, reason in (
        (1, front[0], "first"),
        (2, front[1], ""),
        (3, front[2], "third"),
        (4, front[3], "fourth"),
    ):
        TaskExclusion.objects.create(task=task, user=ana, cause=TaskExclusion.Cause.RELEASED, reason=reason)
        TaskExclusion.objects.filter(task=task).update(created_at=now - dt.timedelta(hours=10 - hours))
    old = TaskExclusion.objects.create(task=front[4], user=ana, cause=TaskExclusion.Cause.RELEASED, reason="old")
    TaskExclusion.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=8))
    TaskExclusion.objects.create(task=north, user=ana, cause=TaskExclusion.Cause.RELEASED, reason="north")

    one = figures(s001)["ana"]
    both = figures(s001, s002)["ana"]

    assert (one.releases, one.recent_release_reasons) == (4, ["fourth", "third", "first"])
    assert (both.releases, both.recent_release_reasons) == (5, ["north", "fourth", "third"])


def test_agreement_pairs_the_labels_of_events_labelled_twice_in_the_window(s001, s002, ana, dave):
    erin = UserFactory(username="erin", role="associate", stores=[s001, s002])
    pair = add_tasks(work_queue(s001, ana, dave, name="Pairs", overlap=2), 3)
    audits = add_tasks(work_queue(s001, erin, name="Audits"), 3)
    for task, purpose in zip(audits, ("audit", "dispute", "audit"), strict=True):
        task.purpose = purpose
        task.save(update_fields=["purpose"])
    (north_audit,) = add_tasks(work_queue(s002, erin, name="North audits"), 1)
    north_audit.purpose = "audit"
    north_audit.save(update_fields=["purpose"])
    agree, differ, lonely, late, far = (uuid.UUID(int=n) for n in range(1, 6))

    ana_first, dave_first = annotate(ana, pair[0], seconds=5), annotate(dave, pair[0], seconds=5, index=1)
    # Same task (overlap): agree on one event, differ on the other's reading.
    label(ana_first, agree, human={"sku": "A"})
    label(dave_first, agree, human={"sku": "A"})
    label(ana_first, differ, "correct", human={"sku": "A"})
    label(dave_first, differ, "correct", human={"sku": "B"})
    # An audit and a dispute review of those events.
    label(annotate(erin, audits[0], seconds=5), agree, "correct", human={"sku": "B"})
    label(annotate(erin, audits[1], seconds=5), differ, "correct", human={"sku": "A"})
    # Labelled once in the window (dave's is older): not compared.
    ana_second, dave_second = annotate(ana, pair[1], seconds=5), annotate(dave, pair[1], seconds=5, index=1)
    label(ana_second, lonely)
    label(dave_second, lonely, days_ago=9)
    # Twice in the window (dave and an audit): every label of the event is compared, ana's older one too.
    ana_third, dave_third = annotate(ana, pair[2], seconds=5, days_ago=9), annotate(dave, pair[2], seconds=5, index=1)
    label(ana_third, late, days_ago=9)
    label(dave_third, late)
    label(annotate(erin, audits[2], seconds=5), late)
    # An audit in the other store: shared only when the supervisor has both stores.
    label(ana_first, far)
    label(annotate(erin, north_audit, seconds=5), far)

    one = figures(s001)
    both = figures(s001, s002)

    assert (one["ana"].agreement_others, one["ana"].agreement_audits) == ((2, 3), (2, 3))
    assert (one["dave"].agreement_others, one["dave"].agreement_audits) == ((2, 3), (1, 3))
    assert (one["erin"].agreement_others, one["erin"].agreement_audits) == ((0, 0), (0, 0))
    assert (both["ana"].agreement_others, both["ana"].agreement_audits) == ((2, 3), (3, 4))
    assert both["dave"].agreement_audits == (1, 3)


def test_agreement_reads_the_shared_events_in_order_up_to_the_label_limit(s001, ana, dave, monkeypatch):
    tasks = add_tasks(work_queue(s001, ana, dave, name="Pairs", overlap=2), 1)
    first, second = annotate(ana, tasks[0], seconds=5), annotate(dave, tasks[0], seconds=5, index=1)
    for n in (3, 1, 2):
        label(first, uuid.UUID(int=n))
    for n in (2, 3, 1):
        label(second, uuid.UUID(int=n))
    assert figures(s001)["ana"].agreement_others == (3, 3)

    # Events in id order, labels in seq order: event 1 whole, then ana's label of event 2.
    monkeypatch.setattr(associates, "AGREEMENT_LABEL_LIMIT", 3)
    monkeypatch.setattr(associates, "AGREEMENT_EVENT_CHUNK", 1)

    found = figures(s001)
    assert (found["ana"].agreement_others, found["dave"].agreement_others) == ((1, 1), (1, 1))
