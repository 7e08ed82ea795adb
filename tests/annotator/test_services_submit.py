import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection
from django.db.models.functions import Now
from django.utils import timezone

from annotator.models import Annotation, Label, Slot, Task
from annotator.services.submit import task_submit
from annotator.services.work import task_claim, task_heartbeat
from infra.errors import Conflict, LoupeError
from tests.annotator.work import (
    SNIPPET_PAYLOAD,
    add_tasks,
    associates,
    expire_leases,
    none_result,
    work_queue,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 2)
    return task_claim(associate=alice)


def box(**overrides) -> dict:
    return {"frame": 0, "label": "hand", "x": 0, "y": 0, "w": 1, "h": 1} | overrides


def submit(associate, task, result=None, **kwargs):
    kwargs.setdefault("submission_id", uuid.uuid4())
    return task_submit(associate=associate, task_id=task.pk, result=result or none_result(), **kwargs)


def test_submit_stores_the_annotation_and_finishes_the_task(alice, held):
    result = {
        "action": "take",
        "sku": "SKU-0002",
        "boxes": [box(frame=3, w=5, h=5)],
    }
    annotation = submit(alice, held.task, result)
    assert annotation.result == result
    assert annotation.slot_id == held.slot_id
    stored = Annotation.objects.get(pk=annotation.pk)
    assert stored.store_id == annotation.store_id == held.task.store_id  # for the console's figures
    assert (stored.active_seconds, stored.created_at) == (annotation.active_seconds, annotation.created_at)
    task = Task.objects.get(pk=held.task.pk)
    assert (task.status, task.annotations_done) == (Task.Status.DONE, 1)
    assert task.done_at is not None
    assert Slot.objects.get(pk=held.slot_id).state == Slot.State.DONE


def test_the_same_submission_id_again_returns_the_same_annotation(alice, held):
    submission_id = uuid.uuid4()
    first = submit(alice, held.task, submission_id=submission_id)
    again = submit(alice, held.task, submission_id=submission_id)
    assert again.pk == first.pk
    assert Annotation.objects.count() == 1
    assert Task.objects.get(pk=held.task.pk).annotations_done == 1


def test_a_submission_id_reused_for_another_task_is_a_conflict(alice, held):
    submission_id = uuid.uuid4()
    submit(alice, held.task, submission_id=submission_id)
    other = task_claim(associate=alice)
    with pytest.raises(Conflict) as error:
        submit(alice, other.task, submission_id=submission_id)
    assert error.value.code == "duplicate_submission"


def test_submit_without_a_lease_stores_nothing(s001, alice):
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1)
    with pytest.raises(Conflict) as error:
        submit(alice, task)
    assert error.value.code == "lease_lost"
    assert not Annotation.objects.exists()


def test_a_submit_on_an_expired_lease_stores_nothing_until_a_heartbeat_revives_it(alice, held):
    """API.md: no live lease → 409 `lease_lost`, even when nobody took the slot yet; the
    holder's heartbeat revives such a lease (the workbench's way back from a sleep)."""
    expire_leases(holder=alice)
    with pytest.raises(Conflict) as error:
        submit(alice, held.task, token=held.token)
    assert error.value.code == "lease_lost"
    assert not Annotation.objects.exists()
    slot = Slot.objects.get(pk=held.slot_id)
    assert (slot.state, slot.holder, slot.lease_token) == (Slot.State.OPEN, alice, held.token)
    assert Task.objects.get(pk=held.task.pk).annotations_done == 0
    task_heartbeat(associate=alice, task_id=held.task.pk, token=held.token)
    assert submit(alice, held.task, token=held.token).task == held.task


def test_a_late_submit_after_someone_else_took_the_slot_gets_lease_lost(s001, alice, held):
    (bea,) = associates(s001, 1, "bea")
    held.task.queue.members.add(bea)
    expire_leases(holder=alice)
    assert task_claim(associate=bea).task == held.task
    with pytest.raises(Conflict) as error:
        submit(alice, held.task, token=held.token)
    assert error.value.code == "lease_lost"
    assert not Annotation.objects.exists()
    assert Task.objects.get(pk=held.task.pk).annotations_done == 0


def test_a_stale_token_is_fenced_off(alice, held):
    expire_leases(holder=alice)
    fresh = task_claim(associate=alice)
    assert fresh.token == held.token + 1
    with pytest.raises(Conflict):
        submit(alice, held.task, token=held.token)
    with pytest.raises(Conflict):
        task_heartbeat(associate=alice, task_id=held.task.pk, token=held.token)
    assert submit(alice, held.task, token=fresh.token).task == held.task


@pytest.mark.parametrize(
    ("result", "field"),
    [
        ({"action": "take", "boxes": []}, "sku"),
        ({"action": "grab", "sku": "SKU-0001"}, "action"),
        ({"action": "take", "sku": "SKU-9999"}, "sku"),
        ({"action": "none", "boxes": [box(), {}]}, "boxes[1]"),
        (
            {"action": "none", "boxes": [box(frame=30)]},
            "boxes[0].frame",
        ),
        (
            {"action": "none", "boxes": [box(label="face")]},
            "boxes[0].label",
        ),
        ({"action": "none", "boxes": [box(x=300, w=40)]}, "boxes[0].w"),
        ({"action": "none", "boxes": [box(w=0)]}, "boxes[0].w"),
        ({"action": "none", "boxes": [box(y=200, h=41)]}, "boxes[0].h"),
        ({"action": "none", "boxes": [box(x=1.5)]}, "boxes[0].x"),
        (
            {"action": "none", "boxes": [box(frame=True, x=1)]},
            "boxes[0].frame",
        ),
        ({"action": "none", "extra": 1}, "extra"),
    ],
)
def test_a_result_that_does_not_fit_the_snippet_kind_is_refused_with_its_field(alice, held, result, field):
    with pytest.raises(LoupeError) as error:
        submit(alice, held.task, result)
    assert error.value.status_code == 400
    assert error.value.field.startswith(field)
    assert not Annotation.objects.exists()
    assert Slot.objects.get(pk=held.slot_id).state == Slot.State.OPEN


def test_a_sku_of_another_store_is_refused(s002, alice, held):
    ProductFactory(store=s002, sku="SKU-0777")
    with pytest.raises(LoupeError) as error:
        submit(alice, held.task, {"action": "take", "sku": "SKU-0777"})
    assert error.value.code == "unknown_sku"


def test_with_overlap_the_task_is_done_after_its_last_annotation(s001, alice):
    (bea,) = associates(s001, 1, "bea")
    queue = work_queue(s001, alice, bea, overlap=2)
    (task,) = add_tasks(queue, 1)
    task_claim(associate=alice)
    task_claim(associate=bea)
    submit(alice, task)
    task.refresh_from_db()
    assert (task.status, task.annotations_done, task.done_at) == (Task.Status.OPEN, 1, None)
    submit(bea, task)
    task.refresh_from_db()
    assert (task.status, task.annotations_done) == (Task.Status.DONE, 2)
    assert set(task.annotations.values_list("associate__username", flat=True)) == {"alice", "bea0"}


def test_heartbeat_extends_the_lease_and_counts_active_time_with_a_cap(alice, held):
    Slot.objects.filter(pk=held.slot_id).update(last_heartbeat_at=Now() - dt.timedelta(seconds=10))
    expires = task_heartbeat(associate=alice, task_id=held.task.pk, token=held.token)
    assert expires >= held.expires_at
    assert Slot.objects.get(pk=held.slot_id).active_seconds == pytest.approx(10, abs=1)
    # A page that stopped sending heartbeats for an hour accrues at most the cap.
    Slot.objects.filter(pk=held.slot_id).update(last_heartbeat_at=Now() - dt.timedelta(hours=1))
    task_heartbeat(associate=alice, task_id=held.task.pk)
    assert Slot.objects.get(pk=held.slot_id).active_seconds == pytest.approx(70, abs=1)
    annotation = submit(alice, held.task)
    assert annotation.active_seconds == pytest.approx(70, abs=1)


def test_heartbeat_on_an_expired_lease_nobody_took_revives_it(alice, held):
    expire_leases(holder=alice)
    assert task_heartbeat(associate=alice, task_id=held.task.pk, token=held.token) > timezone.now()


def test_a_heartbeat_for_someone_elses_lease_is_refused(s001, alice, held):
    (bea,) = associates(s001, 1, "bea")
    with pytest.raises(Conflict) as error:
        task_heartbeat(associate=bea, task_id=held.task.pk)
    assert error.value.code == "lease_lost"
    assert Slot.objects.get(pk=held.slot_id).lease_expires_at == held.expires_at


PREDICTIONS = [{"frame": 0, "label": "hand", "box": [1, 2, 3, 4], "score": 0.5}]


@pytest.mark.parametrize("names_the_snippet", [True, False], ids=["snippet-in-payload", "snippet-read"])
def test_a_snippet_submit_records_its_label_with_the_submits_provenance(s001, alice, names_the_snippet):
    """The same label whichever way it is written: on PostgreSQL by the submit's one
    statement when the payload names the snippet; otherwise, and on SQLite, by the kind's
    on_submit (which reads the snippet: none here, so the payload's predictions)."""
    queue = work_queue(s001, alice)
    payload = {"width": 320, "height": 240, "fps": 10, "frame_count": 30, "predictions": PREDICTIONS}
    if names_the_snippet:
        payload["snippet"] = None
    (task,) = add_tasks(queue, 1, payload=payload)
    task_claim(associate=alice)
    result = {"action": "take", "sku": "SKU-0002", "boxes": [box(frame=3, w=5, h=5)]}
    annotation = Annotation.objects.get(pk=submit(alice, task, result).pk)
    (label,) = Label.objects.filter(annotation_id=annotation.pk)
    assert (label.kind, label.verdict, label.model_version, label.snippet_id, label.event_id) == (
        "snippet",
        "annotated",
        "",
        None,
        None,
    )
    assert (label.predicted, label.human) == (PREDICTIONS, result)
    assert (label.store_id, label.task_id, label.associate_id) == (s001.pk, task.pk, alice.pk)
    assert label.provenance == {
        "queue": str(queue.pk),
        "purpose": task.purpose,
        "overlap": 1,
        "submission_id": str(annotation.submission_id),
        "active_seconds": annotation.active_seconds,
        "submitted_at": annotation.created_at.isoformat(timespec="microseconds"),
    }
    assert abs(label.created_at - annotation.created_at) < dt.timedelta(seconds=5)
    assert (label.txid != 0) == (connection.vendor == "postgresql")


@pytest.mark.django_db(transaction=True)
def test_a_submit_breaking_another_constraint_fails_as_itself_not_as_a_duplicate(s001, alice):
    """Only a violation of the submission_id's uniqueness is a retry or a 409
    `duplicate_submission`. Here the payload names a snippet that does not exist, so the
    label's foreign key fails at commit: that error propagates, and nothing is stored."""
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1, payload=SNIPPET_PAYLOAD | {"snippet": str(uuid.uuid4())})
    task_claim(associate=alice)
    with pytest.raises(IntegrityError):
        submit(alice, task)
    assert not Annotation.objects.exists()
    assert Slot.objects.get(task=task).state == Slot.State.OPEN
