"""Queue control from the console: every action does its job and leaves an audit record;
only supervisors of the object's store may act (another store's supervisor: 404; associates:
403); bad input is refused with 400 and changes nothing."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.models import Queue, QueueMembership, Slot, Task, TaskExclusion
from annotator.services.review import annotation_reject
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import ControlAction, StoreAccess
from infra.errors import Conflict, LoupeError
from tests.annotator.work import add_tasks, work_queue

SNIPPET_RESULT = {"action": "none", "boxes": []}


@pytest.fixture
def queue(s001, alice):
    return work_queue(s001, alice, name="Front")


@pytest.fixture
def task(queue):
    return add_tasks(queue, 1)[0]


@pytest.fixture
def supervisor(client, carol):
    client.force_login(carol)
    return client


def last_action() -> ControlAction:
    return ControlAction.objects.order_by("-id").first()


def test_pause_and_resume_are_recorded(supervisor, queue, carol):
    url = reverse("annotator:queue_pause", kwargs={"queue_id": queue.pk})

    assert supervisor.post(url, {"paused": "1"}).status_code == 302
    queue.refresh_from_db()
    assert queue.is_paused
    action = last_action()
    assert (action.action, action.actor, action.old, action.new) == (
        "queue_pause",
        carol,
        {"is_paused": False},
        {"is_paused": True},
    )
    assert action.target == f"queue:{queue.pk}"

    supervisor.post(url, {"paused": "0"})
    queue.refresh_from_db()
    assert not queue.is_paused
    assert last_action().action == "queue_resume"
    assert ControlAction.objects.count() == 2


def test_a_paused_queue_offers_nothing(supervisor, queue, task, alice):
    supervisor.post(reverse("annotator:queue_pause", kwargs={"queue_id": queue.pk}), {"paused": "1"})

    assert task_claim(associate=alice) is None


def test_priority_change_is_recorded_and_copied_to_the_slots(supervisor, task):
    response = supervisor.post(reverse("annotator:task_priority", kwargs={"task_id": task.pk}), {"priority": "7"})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.priority == 7
    assert set(Slot.objects.filter(task=task).values_list("priority", flat=True)) == {7}
    assert (last_action().action, last_action().old, last_action().new) == (
        "task_priority",
        {"priority": 0},
        {"priority": 7},
    )


@pytest.mark.parametrize("value", ["high", "", "1.5", "100000", None])
def test_priority_must_be_a_whole_number_in_range(supervisor, task, value):
    data = {} if value is None else {"priority": value}
    response = supervisor.post(reverse("annotator:task_priority", kwargs={"task_id": task.pk}), data)

    assert response.status_code == 400
    assert b"Priority is a whole number" in response.content
    task.refresh_from_db()
    assert task.priority == 0
    assert not ControlAction.objects.exists()


def test_release_of_a_stuck_lease_is_recorded(supervisor, task, alice):
    lease = task_claim(associate=alice)
    url = reverse("annotator:lease_release", kwargs={"slot_id": lease.slot_id})

    asked = supervisor.post(url)

    assert asked.status_code == 200
    assert "alice is working on" in asked.content.decode() and "will be lost" in asked.content.decode()
    assert b'name="confirm" value="1"' in asked.content
    assert Slot.objects.get(pk=lease.slot_id).holder == alice
    assert not ControlAction.objects.exists()

    response = supervisor.post(url, {"confirm": "1"})

    assert response.status_code == 302
    slot = Slot.objects.get(pk=lease.slot_id)
    assert slot.holder is None and slot.lease_token == lease.token + 1
    action = last_action()
    assert action.action == "lease_release"
    assert action.old["holder"] == "alice" and action.new == {"holder": None}


def test_releasing_a_free_slot_is_a_conflict(supervisor, task):
    slot = task.slots.get()

    response = supervisor.post(reverse("annotator:lease_release", kwargs={"slot_id": slot.pk}), {"confirm": "1"})

    assert response.status_code == 409
    assert not ControlAction.objects.exists()


def test_reassign_to_a_named_associate(supervisor, queue, task, alice, s001):
    from tests.factories import UserFactory

    other = UserFactory(username="alice2", role="associate", stores=[s001])
    QueueMembership.objects.create(queue=queue, user=other)
    task_claim(associate=alice)

    response = supervisor.post(reverse("annotator:task_reassign", kwargs={"task_id": task.pk}), {"associate": "alice2"})

    assert response.status_code == 302
    assert Slot.objects.get(task=task).holder == other
    action = last_action()
    assert (action.action, action.old, action.new["associate"]) == ("task_reassign", {"holders": ["alice"]}, "alice2")


@pytest.mark.parametrize("name", ["nobody", "", "bob", "carol"])
def test_reassign_refuses_unknown_or_foreign_people(supervisor, task, bob, name):
    response = supervisor.post(reverse("annotator:task_reassign", kwargs={"task_id": task.pk}), {"associate": name})

    assert response.status_code == 400
    assert Slot.objects.get(task=task).holder is None
    assert not ControlAction.objects.exists()


def test_reassign_to_an_associate_busy_in_the_queue_is_refused_and_changes_nothing(supervisor, queue, alice):
    _, other = add_tasks(queue, 2)
    lease = task_claim(associate=alice)

    response = supervisor.post(reverse("annotator:task_reassign", kwargs={"task_id": other.pk}), {"associate": "alice"})

    assert response.status_code == 409
    assert "release that lease first" in response.content.decode()
    assert Slot.objects.get(task=other).holder is None
    assert Slot.objects.get(pk=lease.slot_id).lease_token == lease.token
    assert not ControlAction.objects.exists()


def test_membership_add_and_remove_are_recorded(supervisor, queue, alice):
    url = reverse("annotator:queue_member", kwargs={"queue_id": queue.pk})

    asked = supervisor.post(url, {"associate": "alice", "member": "0"})
    assert asked.status_code == 200 and b"will no longer be offered tasks" in asked.content
    assert QueueMembership.objects.filter(queue=queue, user=alice).exists()
    supervisor.post(url, {"associate": "alice", "member": "0", "confirm": "1"})
    assert not QueueMembership.objects.filter(queue=queue, user=alice).exists()
    assert last_action().action == "queue_member_remove"
    supervisor.post(url, {"associate": "alice", "member": "1"})
    assert QueueMembership.objects.filter(queue=queue, user=alice).exists()
    assert last_action().new == {"associate": "alice", "member": True}


def test_membership_flag_must_be_given(supervisor, queue):
    response = supervisor.post(reverse("annotator:queue_member", kwargs={"queue_id": queue.pk}), {"associate": "alice"})

    assert response.status_code == 400


def test_granting_and_revoking_a_store_moves_queue_memberships(supervisor, carol, alice, s001, s002, queue):
    StoreAccess.objects.create(store=s002, user=carol)
    s002_queue = Queue.objects.create(store=s002, kind="snippet_annotation", name="North")
    url = reverse("annotator:associate_store", kwargs={"username": "alice"})

    assert supervisor.post(url, {"store": "S002", "granted": "1"}).status_code == 302
    assert StoreAccess.objects.filter(store=s002, user=alice).exists()
    assert QueueMembership.objects.filter(queue=s002_queue, user=alice).exists()
    assert (last_action().action, last_action().store) == ("store_grant", s002)

    asked = supervisor.post(url, {"store": "S002", "granted": "0"})
    assert asked.status_code == 200 and b"can no longer open S002" in asked.content
    assert StoreAccess.objects.filter(store=s002, user=alice).exists()
    supervisor.post(url, {"store": "S002", "granted": "0", "confirm": "1"})
    assert not StoreAccess.objects.filter(store=s002, user=alice).exists()
    assert not QueueMembership.objects.filter(queue=s002_queue, user=alice).exists()
    assert last_action().action == "store_revoke"


def test_a_supervisor_cannot_grant_a_store_they_do_not_supervise(supervisor, alice, s002):
    response = supervisor.post(
        reverse("annotator:associate_store", kwargs={"username": "alice"}), {"store": "S002", "granted": "1"}
    )

    assert response.status_code == 404
    assert not StoreAccess.objects.filter(store=s002, user=alice).exists()


# Rejecting submitted work ------------------------------------------------------------------


def submitted(queue, alice):
    add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    return task_submit(associate=alice, task_id=lease.task.pk, result=SNIPPET_RESULT, submission_id=uuid.uuid4())


def test_reject_sends_the_task_back_but_never_to_the_same_associate(supervisor, queue, alice, s001):
    from tests.factories import UserFactory

    annotation = submitted(queue, alice)
    task = annotation.task
    task.refresh_from_db()
    assert task.status == Task.Status.DONE

    response = supervisor.post(
        reverse("annotator:annotation_reject", kwargs={"annotation_id": annotation.pk}), {"comment": "boxes missing"}
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.annotations_done, task.done_at) == (Task.Status.OPEN, 0, None)
    assert Slot.objects.get(pk=annotation.slot_id).state == Slot.State.CANCELLED
    assert Slot.objects.filter(task=task, state=Slot.State.OPEN, holder__isnull=True).count() == 1
    exclusion = TaskExclusion.objects.get(task=task, user=alice)
    assert (exclusion.cause, exclusion.reason) == ("rejected", "boxes missing")
    assert (last_action().action, last_action().comment) == ("annotation_reject", "boxes missing")
    assert task_claim(associate=alice) is None
    other = UserFactory(username="alice2", role="associate", stores=[s001])
    QueueMembership.objects.create(queue=queue, user=other)
    assert task_claim(associate=other).task == task


def test_reject_needs_a_comment_and_happens_once(carol, queue, alice):
    annotation = submitted(queue, alice)

    with pytest.raises(LoupeError):
        annotation_reject(supervisor=carol, annotation=annotation, comment="  ")
    annotation_reject(supervisor=carol, annotation=annotation, comment="wrong sku")
    with pytest.raises(Conflict):
        annotation_reject(supervisor=carol, annotation=annotation, comment="again")


def test_the_submitted_task_opens_read_only_for_its_supervisor(supervisor, queue, alice):
    annotation = submitted(queue, alice)

    response = supervisor.get(reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk}))

    assert response.status_code == 200
    assert b'id="reject-form"' in response.content
    assert b"alice" in response.content


# Access --------------------------------------------------------------------------------


def control_requests(queue, task, slot_id, annotation):
    return [
        (reverse("annotator:queue_pause", kwargs={"queue_id": queue.pk}), {"paused": "1"}),
        (
            reverse("annotator:queue_member", kwargs={"queue_id": queue.pk}),
            {"associate": "alice", "member": "0", "confirm": "1"},
        ),
        (reverse("annotator:task_priority", kwargs={"task_id": task.pk}), {"priority": "5"}),
        (reverse("annotator:task_reassign", kwargs={"task_id": task.pk}), {"associate": "alice"}),
        (reverse("annotator:lease_release", kwargs={"slot_id": slot_id}), {"confirm": "1"}),
        (
            reverse("annotator:associate_store", kwargs={"username": "alice"}),
            {"store": "S001", "granted": "0", "confirm": "1"},
        ),
        (reverse("annotator:annotation_reject", kwargs={"annotation_id": annotation.pk}), {"comment": "no"}),
    ]


def test_another_store_supervisor_gets_404_for_every_control_action(client, sam, queue, alice):
    annotation = submitted(queue, alice)
    task = add_tasks(queue, 1)[0]
    lease = task_claim(associate=alice)
    client.force_login(sam)

    for url, data in control_requests(queue, task, lease.slot_id, annotation):
        assert client.post(url, data).status_code == 404, url
    for url in (
        reverse("annotator:supervise_queue", kwargs={"queue_id": queue.pk}),
        reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk}),
    ):
        assert client.get(url).status_code == 404, url
    assert not ControlAction.objects.exists()


def test_associates_get_403_and_anonymous_the_login_page(client, alice, queue):
    annotation = submitted(queue, alice)
    task = add_tasks(queue, 1)[0]
    lease = task_claim(associate=alice)
    client.force_login(alice)

    for url, data in control_requests(queue, task, lease.slot_id, annotation):
        assert client.post(url, data).status_code == 403, url
    assert client.get(reverse("annotator:associates")).status_code == 403
    client.logout()
    for url, data in control_requests(queue, task, lease.slot_id, annotation):
        assert client.post(url, data).status_code == 302, url
    assert not ControlAction.objects.exists()


def test_control_is_post_only(supervisor, queue):
    assert supervisor.get(reverse("annotator:queue_pause", kwargs={"queue_id": queue.pk})).status_code == 405


def test_console_pages_render(supervisor, queue, task, alice):
    task_claim(associate=alice)
    for url in (
        reverse("annotator:supervise"),
        reverse("annotator:supervise_queue", kwargs={"queue_id": queue.pk}),
        reverse("annotator:associates"),
        reverse("annotator:associates") + "?days=30",
    ):
        response = supervisor.get(url)
        assert response.status_code == 200, url
    page = supervisor.get(reverse("annotator:supervise")).content.decode()
    assert 'id="lease-table"' in page and "alice" in page
    for name in ("turnaround", "automation", "charts", "throughput"):
        assert f'id="panel-{name}"' in page
        assert supervisor.get(reverse("annotator:supervise_panel"), {"name": name}).status_code == 200
    assert supervisor.get(reverse("annotator:supervise_panel"), {"name": "nope"}).status_code == 404
    assert timezone.now()


def test_an_associate_name_no_query_can_carry_is_an_unknown_associate(supervisor, queue):
    # A NUL in the name reached the database and answered 500.
    name = "ali\x00ce"
    members_url = reverse("annotator:queue_member", kwargs={"queue_id": queue.pk})
    member = supervisor.post(members_url, {"associate": name, "member": "1"})
    task = add_tasks(queue, 1)[0]
    reassign = supervisor.post(reverse("annotator:task_reassign", kwargs={"task_id": task.pk}), {"associate": name})
    assert (member.status_code, reassign.status_code) == (400, 400)
    assert not ControlAction.objects.exists()


@pytest.mark.parametrize(("username", "store"), [("ali\x00ce", "S001"), ("alice", "S0\x0001")])
def test_a_nul_in_the_associate_or_store_of_the_stores_form_is_not_found(supervisor, alice, username, store):
    # The third form of the NUL finding (issue #21, 9): the associate's stores, by URL and by field.
    url = reverse("annotator:associate_store", kwargs={"username": username})
    response = supervisor.post(url, {"store": store, "granted": "1", "confirm": "1"})
    assert response.status_code == 404
    assert not ControlAction.objects.exists()
