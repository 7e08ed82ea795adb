"""The audit trail on the queue page reads as words: a label per action, old → new in plain
values, what it was done to by name; never the stored dicts or the action codes."""

import uuid

import pytest
from django.urls import reverse

from annotator.control_trail import control_trail
from annotator.services import control
from annotator.services.review import annotation_reject
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.services.policy import control_record
from tests.annotator.work import add_tasks, none_result, work_queue
from tests.factories import UserFactory


@pytest.fixture
def queue(s001, alice):
    return work_queue(s001, alice, name="Front")


def lines(store) -> list[tuple[str, str, str, str]]:
    """(actor, label, target, change), oldest first."""
    return [(line.actor, line.label, line.target, line.change) for line in reversed(control_trail(store=store))]


def test_every_control_action_reads_as_words(carol, alice, s001, s002, queue):
    [task] = add_tasks(queue, 1)
    short = f"task {str(task.pk)[:8]}…"
    control.queue_pause_set(supervisor=carol, queue=queue, paused=True)
    control.queue_pause_set(supervisor=carol, queue=queue, paused=False)
    control.task_priority_set(supervisor=carol, task_id=task.pk, priority=7)
    lease = task_claim(associate=alice)
    control.lease_release(supervisor=carol, slot_id=lease.slot_id)
    control.task_reassign(supervisor=carol, task_id=task.pk, associate=alice)
    dave = UserFactory(username="dave", role="associate", stores=[s001])
    control.queue_member_set(supervisor=carol, queue=queue, associate=dave, member=False)  # not a member: no-op
    control.queue_member_set(supervisor=carol, queue=queue, associate=alice, member=False)
    control.queue_member_set(supervisor=carol, queue=queue, associate=alice, member=True)
    control.associate_store_set(supervisor=carol, associate=dave, store=s001, granted=False)
    control.associate_store_set(supervisor=carol, associate=dave, store=s001, granted=True)

    assert lines(s001) == [
        ("carol", "Paused", "queue Front", "running → paused"),
        ("carol", "Resumed", "queue Front", "paused → running"),
        ("carol", "Changed priority of", short, "0 → 7"),
        ("carol", "Released the lease on", short, "held by alice → free"),
        ("carol", "Gave", short, "nobody → alice"),
        ("carol", "Removed a member from", "queue Front", "alice: member → not a member"),
        ("carol", "Added a member to", "queue Front", "alice: not a member → member"),
        ("carol", "Took away", "S001", "dave: granted → not granted"),
        ("carol", "Granted", "S001", "dave: not granted → granted"),
    ]
    assert lines(s002) == []


def test_a_rejection_names_whose_work_and_keeps_the_comment(carol, alice, s001, queue):
    add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    annotation = task_submit(associate=alice, task_id=lease.task.pk, result=none_result(), submission_id=uuid.uuid4())

    annotation_reject(supervisor=carol, annotation=annotation, comment="boxes missing")

    [line] = control_trail(store=s001)
    assert (line.label, line.change, line.comment) == ("Rejected work on", "alice's work: done → open", "boxes missing")


def test_an_action_it_does_not_know_still_reads_sensibly(carol, s001):
    control_record(
        store_id=s001.pk,
        actor=None,
        action="queue_lease_seconds",
        target="thing:42",
        old={"lease_seconds": 300, "by": "carol"},
        new={"lease_seconds": 600, "by": "carol", "strict": True},
    )

    assert lines(s001) == [
        ("—", "Queue lease seconds", "thing:42", "lease seconds: 300 → 600; strict: — → yes"),
    ]


def test_the_queue_page_shows_the_trail_in_words(client, carol, alice, queue):
    control.queue_member_set(supervisor=carol, queue=queue, associate=alice, member=False)
    client.force_login(carol)

    body = client.get(reverse("annotator:supervise_queue", kwargs={"queue_id": queue.pk})).content.decode()
    audit = body.split('id="audit"')[1].split("</ul>")[0]

    assert "Removed a member from queue Front" in audit
    assert "alice: member → not a member" in audit
    assert "queue_member" not in audit
    assert "{" not in audit and "&#x27;" not in audit
