import uuid

import pytest
from django.http import Http404

from annotator.models import Slot, Task, TaskExclusion
from annotator.services.control import lease_release, task_priority_set, task_reassign
from annotator.services.submit import task_release, task_submit
from annotator.services.work import task_claim, task_heartbeat
from infra.errors import Conflict, LoupeError
from tests.annotator.work import add_tasks, associates, expire_leases, none_result, work_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(s001, alice):
    bea, cem = associates(s001, 2, "w")
    queue = work_queue(s001, alice, bea, cem)
    return queue, bea, cem


def test_release_frees_the_task_for_others_but_not_for_the_releaser(team, alice):
    queue, bea, _ = team
    first, second = add_tasks(queue, 2)
    lease = task_claim(associate=alice)
    task_release(associate=alice, task_id=first.pk, reason="cannot see the hand")
    slot = Slot.objects.get(pk=lease.slot_id)
    assert (slot.holder, slot.lease_token) == (None, lease.token + 1)
    exclusion = TaskExclusion.objects.get(task=first, user=alice)
    assert (exclusion.cause, exclusion.reason) == ("released", "cannot see the hand")
    assert task_claim(associate=alice).task == second
    assert task_claim(associate=bea).task == first


def test_a_released_task_is_never_offered_again_even_when_it_is_the_last(team, alice):
    queue, *_ = team
    (task,) = add_tasks(queue, 1)
    task_claim(associate=alice)
    task_release(associate=alice, task_id=task.pk, reason="")
    assert task_claim(associate=alice) is None


def test_releasing_a_task_one_does_not_hold_is_lease_lost(team, alice):
    queue, bea, _ = team
    (task,) = add_tasks(queue, 1)
    task_claim(associate=bea)
    with pytest.raises(Conflict):
        task_release(associate=alice, task_id=task.pk, reason="")
    assert Slot.objects.get(task=task).holder == bea


def test_a_supervisor_frees_a_stuck_lease(team, alice, carol):
    queue, bea, _ = team
    (task,) = add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    lease_release(supervisor=carol, slot_id=lease.slot_id)
    with pytest.raises(Conflict):
        task_heartbeat(associate=alice, task_id=task.pk)
    assert task_claim(associate=bea).task == task
    with pytest.raises(Conflict):
        task_submit(associate=alice, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())


def test_supervisor_actions_need_the_store_and_the_role(team, alice, sam):
    queue, bea, _ = team
    (task,) = add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    with pytest.raises(Http404):
        lease_release(supervisor=sam, slot_id=lease.slot_id)
    with pytest.raises(Http404):
        task_priority_set(supervisor=sam, task_id=task.pk, priority=5)
    with pytest.raises(LoupeError) as error:
        lease_release(supervisor=bea, slot_id=lease.slot_id)
    assert error.value.status_code == 403
    assert Slot.objects.get(pk=lease.slot_id).holder == alice


def test_reassign_moves_the_lease_to_the_named_associate(team, alice, carol):
    queue, bea, _ = team
    (task,) = add_tasks(queue, 1)
    old = task_claim(associate=alice)
    new = task_reassign(supervisor=carol, task_id=task.pk, associate=bea)
    assert (new.task, new.slot_id, new.token) == (task, old.slot_id, old.token + 1)
    assert task_claim(associate=bea).task == task  # resume
    with pytest.raises(Conflict):
        task_submit(associate=alice, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())
    task_submit(associate=bea, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())


def test_reassign_prefers_a_free_slot_and_lifts_an_earlier_skip(s001, alice, carol):
    bea, cem = associates(s001, 2, "w")
    queue = work_queue(s001, alice, bea, cem, overlap=2)
    (task,) = add_tasks(queue, 1)
    task_claim(associate=cem)
    task_release(associate=cem, task_id=task.pk, reason="unsure")
    busy = task_claim(associate=alice)
    lease = task_reassign(supervisor=carol, task_id=task.pk, associate=cem)
    assert lease.slot_id != busy.slot_id
    assert Slot.objects.get(pk=busy.slot_id).holder == alice
    assert not TaskExclusion.objects.filter(user=cem).exists()


def test_reassign_refuses_ineligible_people_and_finished_work(s001, team, alice, bob, carol):
    queue, bea, _ = team
    (task,) = add_tasks(queue, 1)
    with pytest.raises(LoupeError) as error:
        task_reassign(supervisor=carol, task_id=task.pk, associate=bob)
    assert error.value.field == "associate"
    task_claim(associate=alice)
    task_submit(associate=alice, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())
    with pytest.raises(Conflict):
        task_reassign(supervisor=carol, task_id=task.pk, associate=bea)


def test_reassign_refuses_an_associate_working_on_another_task_of_the_queue(team, alice, carol):
    queue, _, _ = team
    first, second = add_tasks(queue, 2)
    held = task_claim(associate=alice)
    with pytest.raises(Conflict) as error:
        task_reassign(supervisor=carol, task_id=second.pk, associate=alice)
    assert error.value.code == "associate_busy"
    assert Slot.objects.get(task=second).holder is None
    assert Slot.objects.get(pk=held.slot_id).lease_token == held.token
    assert task_claim(associate=alice).task == first  # still theirs


def test_reassign_gives_back_an_expired_lease_of_theirs_elsewhere_in_the_queue(team, alice, carol):
    queue, bea, _ = team
    first, second = add_tasks(queue, 2)
    stale = task_claim(associate=alice)
    expire_leases(holder=alice)
    lease = task_reassign(supervisor=carol, task_id=second.pk, associate=alice)
    assert lease.task == second
    freed = Slot.objects.get(pk=stale.slot_id)
    assert (freed.holder, freed.lease_token) == (None, stale.token + 1)
    assert task_claim(associate=alice).task == second  # resume
    assert task_claim(associate=bea).task == first


def test_set_priority_reorders_the_queue(team, alice, carol):
    queue, *_ = team
    _first, second = add_tasks(queue, 2)
    task_priority_set(supervisor=carol, task_id=second.pk, priority=10)
    assert Task.objects.get(pk=second.pk).priority == 10
    assert set(Slot.objects.filter(task=second).values_list("priority", flat=True)) == {10}
    assert task_claim(associate=alice).task == second
