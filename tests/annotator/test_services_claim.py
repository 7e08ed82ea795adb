import uuid

import pytest
from django.utils import timezone

from annotator.models import Slot, TaskExclusion
from annotator.selectors.console import leases_held
from annotator.selectors.work import task_lookahead
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import StoreAccess
from tests.annotator.work import (
    add_tasks,
    associates,
    expire_leases,
    none_result,
    work_queue,
)

pytestmark = pytest.mark.django_db


def test_claim_leases_the_first_task_with_a_database_timed_lease(s001, alice):
    queue = work_queue(s001, alice, lease_seconds=120)
    (task,) = add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    assert lease.task == task
    assert lease.token == 1
    slot = Slot.objects.get(pk=lease.slot_id)
    assert slot.holder == alice
    assert slot.lease_expires_at == lease.expires_at
    assert (slot.lease_expires_at - slot.leased_at).total_seconds() == pytest.approx(120, abs=0.01)
    assert abs((slot.leased_at - timezone.now()).total_seconds()) < 5


def test_claim_returns_none_when_no_work_is_waiting(s001, alice):
    work_queue(s001, alice)
    assert task_claim(associate=alice) is None


def test_claim_again_resumes_the_held_task(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 3)
    first = task_claim(associate=alice)
    again = task_claim(associate=alice)
    assert again.task == first.task
    assert again.token == first.token
    assert Slot.objects.filter(holder=alice).count() == 1


def test_claim_resumes_an_own_expired_lease_nobody_took_with_a_new_token(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 3)
    first = task_claim(associate=alice)
    expire_leases(holder=alice)
    again = task_claim(associate=alice)
    assert again.task == first.task
    assert again.token == first.token + 1
    assert again.expires_at > timezone.now()


def test_claim_skips_tasks_leased_by_others(s001, alice):
    (bea,) = associates(s001, 1, "bea")
    queue = work_queue(s001, alice, bea)
    first, second = add_tasks(queue, 2)
    assert task_claim(associate=bea).task == first
    assert task_claim(associate=alice).task == second


def test_claim_takes_over_an_expired_lease_of_someone_else(s001, alice):
    (bea,) = associates(s001, 1, "bea")
    queue = work_queue(s001, alice, bea)
    (task,) = add_tasks(queue, 1)
    old = task_claim(associate=bea)
    assert task_claim(associate=alice) is None
    expire_leases(holder=bea)
    new = task_claim(associate=alice)
    assert new.task == task
    assert new.slot_id == old.slot_id
    assert new.token == old.token + 1


def test_claim_order_is_priority_then_deadline_then_age(s001, alice):
    queue = work_queue(s001, alice)
    late = add_tasks(queue, 1, due_in=60)[0]
    soon = add_tasks(queue, 1, due_in=5)[0]
    urgent = add_tasks(queue, 1, due_in=120, priority=10)[0]
    audit = add_tasks(queue, 1, due_in=1, priority=-1)[0]
    order = []
    for _ in range(4):
        lease = task_claim(associate=alice)
        order.append(lease.task)
        task_submit(associate=alice, task_id=lease.task.pk, result=none_result(), submission_id=uuid.uuid4())
    assert order == [urgent, soon, late, audit]


def test_claim_over_several_queues_takes_the_best_head(s001, alice):
    snippets = work_queue(s001, alice, name="Snippets")
    visits = work_queue(s001, alice, name="Visits")
    add_tasks(snippets, 2, due_in=30)
    (urgent,) = add_tasks(visits, 1, due_in=40, priority=5)
    (early,) = add_tasks(snippets, 1, due_in=1)
    assert task_claim(associate=alice).task == urgent
    task_submit(associate=alice, task_id=urgent.pk, result=none_result(), submission_id=uuid.uuid4())
    assert task_claim(associate=alice).task == early


def test_claim_from_a_named_queue_takes_only_from_it(s001, alice):
    first = work_queue(s001, alice, name="First")
    second = work_queue(s001, alice, name="Second")
    add_tasks(first, 1, priority=9)
    (wanted,) = add_tasks(second, 1)
    assert task_claim(associate=alice, queue=second).task == wanted


def test_a_paused_queue_offers_nothing(s001, alice):
    queue = work_queue(s001, alice, paused=True)
    add_tasks(queue, 2)
    assert task_claim(associate=alice) is None
    assert task_claim(associate=alice, queue=queue) is None


def test_an_associate_who_is_not_a_member_gets_nothing(s001, alice):
    (bea,) = associates(s001, 1, "bea")
    queue = work_queue(s001, bea)
    add_tasks(queue, 2)
    assert task_claim(associate=alice) is None


def test_a_member_without_the_store_grant_gets_nothing(s001, bob):
    queue = work_queue(s001, bob)
    add_tasks(queue, 2)
    assert task_claim(associate=bob) is None
    StoreAccess.objects.create(store=s001, user=bob)
    assert task_claim(associate=bob) is not None


def test_with_overlap_a_task_is_never_offered_twice_to_one_associate(s001, alice):
    queue = work_queue(s001, alice, overlap=3)
    (task,) = add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    task_submit(associate=alice, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())
    assert lease.task == task
    assert task_claim(associate=alice) is None
    assert Slot.objects.filter(task=task, holder__isnull=True).count() == 2


def test_claim_skips_tasks_the_associate_is_excluded_from(s001, alice):
    queue = work_queue(s001, alice)
    first, second = add_tasks(queue, 2)
    TaskExclusion.objects.create(task=first, user=alice, cause=TaskExclusion.Cause.PREVIOUS_VALIDATOR)
    assert task_claim(associate=alice).task == second


def test_lookahead_previews_the_next_task_without_leasing_it(s001, alice):
    queue = work_queue(s001, alice)
    payload = {"snippet": "x", "width": 320, "height": 240, "frame_count": 30, "poster_url": "/media/p.jpg"}
    first, second, _third = add_tasks(queue, 3, payload=payload)
    assert [item["id"] for item in task_lookahead(associate=alice)] == [first.pk]
    task_claim(associate=alice)
    (preview,) = task_lookahead(associate=alice)
    assert preview["id"] == second.pk
    assert "poster_url" not in preview["payload"]
    assert Slot.objects.filter(holder=alice).count() == 1
    assert len(task_lookahead(associate=alice, limit=5)) == 2


def test_leases_held_lists_who_holds_what(s001, s002, alice, bob):
    queue = work_queue(s001, alice)
    add_tasks(queue, 2)
    lease = task_claim(associate=alice)
    (held,) = leases_held(stores=[s001])
    assert (held.associate, held.task_id, held.live) == ("alice", str(lease.task.pk), True)
    assert held.expires_at == lease.expires_at
    expire_leases(holder=alice)
    assert leases_held(stores=[s001])[0].live is False
    assert leases_held(stores=[s002]) == []
