"""The associate's work home, claiming from it, the task page and the supervisor's queues."""

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotator.models import Queue, Slot, TaskExclusion
from annotator.selectors.queues import QueueSummary, queue_summaries, supervised_queues
from annotator.services.queues import task_enqueue
from catalog import roles
from tests.annotator.work import work_queue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def enqueue(queue, *, minutes: float, payload: dict | None = None):
    return task_enqueue(
        queue=queue,
        subject_id=uuid.uuid4(),
        due_at=timezone.now() + dt.timedelta(minutes=minutes),
        payload=payload or {},
    )


def test_summaries_count_waiting_leased_at_risk_and_breached(carol, alice, s001):
    queue = work_queue(s001, alice, kind="visit_validation")
    enqueue(queue, minutes=30)
    enqueue(queue, minutes=3)  # at risk
    late = enqueue(queue, minutes=-2)  # breached
    Slot.objects.filter(task=late).update(holder=alice, lease_expires_at=timezone.now() + dt.timedelta(minutes=5))

    [summary] = queue_summaries(user=carol, queues=supervised_queues(user=carol))

    assert (summary.depth, summary.in_progress, summary.at_risk, summary.breached) == (2, 1, 1, 1)
    assert summary.oldest_waiting_s is not None
    assert summary.oldest_waiting_s >= 0


def test_an_expired_lease_counts_as_waiting(carol, alice, s001):
    queue = work_queue(s001, alice)
    task = enqueue(queue, minutes=30)
    Slot.objects.filter(task=task).update(holder=alice, lease_expires_at=timezone.now() - dt.timedelta(seconds=1))

    [summary] = queue_summaries(user=carol)

    assert (summary.depth, summary.in_progress) == (1, 0)


def test_summaries_show_only_the_users_stores(sam, s001):
    enqueue(work_queue(s001), minutes=5)

    assert queue_summaries(user=sam) == []


def test_work_counts_leave_out_tasks_the_associate_may_not_take(alice, s001):
    queue = work_queue(s001, alice)
    enqueue(queue, minutes=10)
    released = enqueue(queue, minutes=5)
    TaskExclusion.objects.create(task=released, user=alice, cause=TaskExclusion.Cause.RELEASED)

    [summary] = queue_summaries(user=alice, queues=Queue.objects.filter(pk=queue.pk), for_work=True)

    assert summary.depth == 1


def test_oldest_waiting_reads_like_a_dashboard():
    def wait(seconds):
        return QueueSummary(None, 0, 0, 0, 0, seconds, None).oldest_waiting

    assert (wait(None), wait(42.7), wait(252), wait(7500)) == ("", "42 s", "4 min 12 s", "2 h 5 min")


def test_work_home_lists_the_associates_unpaused_queues(client, alice, s001):
    open_queue = work_queue(s001, alice, name="Open")
    work_queue(s001, alice, name="Paused", paused=True)
    enqueue(open_queue, minutes=4)
    client.force_login(alice)

    body = client.get(reverse("annotator:work")).content.decode()

    assert "Open" in body
    assert "Paused" not in body
    assert 'data-hotkey="s"' in body
    assert reverse("annotator:claim") in body


def test_work_home_says_when_nothing_is_waiting(client, alice, s001):
    work_queue(s001, alice)
    client.force_login(alice)

    body = client.get(reverse("annotator:work")).content.decode()

    assert 'id="nothing-waiting"' in body
    assert 'data-hotkey="s"' not in body


def test_work_home_renders_its_region_for_htmx(client, alice, s001):
    enqueue(work_queue(s001, alice, name="Front"), minutes=10)
    client.force_login(alice)

    partial = client.get(reverse("annotator:work"), headers={"HX-Request": "true"}).content.decode()

    assert partial.lstrip().startswith('<div id="work"')
    assert "<html" not in partial
    assert 'id="start"' in partial


def test_start_claims_the_most_urgent_task_and_opens_it(client, alice, s001):
    queue = work_queue(s001, alice, kind="visit_validation")
    enqueue(queue, minutes=20)
    urgent = enqueue(queue, minutes=2, payload={"events": [{"action": "take", "sku": "SKU-0002", "quantity": 1}]})
    client.force_login(alice)

    response = client.post(reverse("annotator:claim"))

    assert response.status_code == 302
    assert response["Location"] == reverse("annotator:task", kwargs={"task_id": urgent.pk})
    assert Slot.objects.get(task=urgent).holder == alice
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "SKU-0002" in page.content.decode()


def test_start_with_nothing_waiting_goes_back_to_the_work_home(client, alice, s001):
    queue = work_queue(s001, alice)
    client.force_login(alice)

    response = client.post(reverse("annotator:claim_queue", kwargs={"queue_id": queue.pk}))

    assert response["Location"] == reverse("annotator:work")
    assert not Slot.objects.exists()


def test_the_task_page_is_only_for_the_lease_holder(client, alice, s001):
    other = UserFactory(username="alice2", role=roles.ASSOCIATE, stores=[s001])
    queue = work_queue(s001, alice, other)
    task = enqueue(queue, minutes=10)
    client.force_login(alice)
    client.post(reverse("annotator:claim"))
    client.force_login(other)

    assert client.get(reverse("annotator:task", kwargs={"task_id": task.pk})).status_code == 404


def test_supervise_renders_the_queues_partial_for_htmx(client, carol, s001):
    enqueue(work_queue(s001, name="Front"), minutes=10)
    client.force_login(carol)

    full = client.get(reverse("annotator:supervise")).content.decode()
    partial = client.get(reverse("annotator:supervise"), headers={"HX-Request": "true"}).content.decode()

    assert "<html" in full
    assert 'id="queues"' in full
    assert partial.lstrip().startswith('<div id="queues"')
    assert "<html" not in partial
    assert "Front" in partial


def test_the_pages_refresh_as_often_as_the_settings_say(client, carol, alice, s001, settings):
    client.force_login(alice)
    assert 'hx-trigger="every 10s"' in client.get(reverse("annotator:work")).content.decode()  # the default
    settings.WORK_REFRESH_S = 3
    for headers in ({}, {"HX-Request": "true"}):  # the page and its poll's answer
        assert 'hx-trigger="every 3s"' in client.get(reverse("annotator:work"), headers=headers).content.decode()

    client.force_login(carol)
    settings.CONSOLE_REFRESH_S = 7
    page = client.get(reverse("annotator:supervise")).content.decode()
    poll = client.get(reverse("annotator:supervise"), headers={"HX-Request": "true"}).content.decode()
    assert re.search(r'id="queues"[^>]*hx-trigger="every 7s"', page)
    assert re.search(r'id="queues"[^>]*hx-trigger="every 7s"', poll)
    # Panels follow the setting unless they chose their own pace (charts: never, purges: 60 s).
    assert re.search(r'id="panel-turnaround"[^>]*hx-trigger="every 7s"', page)
    assert re.search(r'id="panel-privacy"[^>]*hx-trigger="every 60s"', page)
    assert not re.search(r'id="panel-charts"[^>]*hx-trigger', page)


def test_work_home_shows_the_associates_own_figures_today(client, alice, s001):
    from annotator.models import Annotation
    from annotator.services.submit import task_submit
    from annotator.services.work import task_claim
    from tests.annotator.work import add_tasks, none_result

    queue = work_queue(s001, alice)
    add_tasks(queue, 3)
    for seconds in (10.0, 40.0, 20.0):
        lease = task_claim(associate=alice)
        annotation = task_submit(
            associate=alice, task_id=lease.task.pk, result=none_result(), submission_id=uuid.uuid4()
        )
        Annotation.objects.filter(pk=annotation.pk).update(active_seconds=seconds)
    yesterday = timezone.now() - dt.timedelta(days=2)
    Annotation.objects.filter(pk=annotation.pk).update(created_at=yesterday)  # not today: left out

    client.force_login(alice)
    figures = client.get(reverse("annotator:work")).content.decode()

    assert "<strong>2</strong> tasks done" in figures
    assert "median <strong>25 s</strong>" in figures  # median of 10 and 40 (the 20 s one was yesterday)


def test_work_home_figures_start_at_zero(client, alice, s001):
    client.force_login(alice)
    body = client.get(reverse("annotator:work")).content.decode()
    assert "<strong>0</strong> tasks done" in body
    assert "median" not in body.split('id="my-today"')[1].split("</p>")[0]


def test_most_urgent_due_is_the_task_start_would_take_not_the_earliest_deadline(client, alice, s001):
    queue = work_queue(s001, alice, kind="visit_validation")
    audit = enqueue(queue, minutes=-300)
    audit.priority = -10
    audit.save(update_fields=["priority"])
    Slot.objects.filter(task=audit).update(priority=-10)
    review = enqueue(queue, minutes=12)

    [summary] = queue_summaries(user=alice, queues=Queue.objects.filter(pk=queue.pk), for_work=True)

    assert summary.next_due_at == review.due_at
    assert summary.next_due_state == "ok"
    assert summary.breached == 1  # the audit is still counted as breached
    client.force_login(alice)
    client.post(reverse("annotator:claim"))
    assert Slot.objects.get(task=review).holder == alice  # what Start took


def test_most_urgent_due_leaves_out_tasks_the_associate_may_not_take(alice, carol, s001):
    queue = work_queue(s001, alice)
    released = enqueue(queue, minutes=2)
    TaskExclusion.objects.create(task=released, user=alice, cause=TaskExclusion.Cause.RELEASED)
    held = enqueue(queue, minutes=3)
    Slot.objects.filter(task=held).update(holder=carol, lease_expires_at=timezone.now() + dt.timedelta(minutes=5))
    free = enqueue(queue, minutes=20)

    [mine] = queue_summaries(user=alice, queues=Queue.objects.filter(pk=queue.pk), for_work=True)
    [everyone] = queue_summaries(user=carol, queues=Queue.objects.filter(pk=queue.pk))

    assert mine.next_due_at == free.due_at
    assert everyone.next_due_at == released.due_at


def test_queue_summaries_take_the_same_queries_for_one_queue_or_many(alice, s001):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            queue_summaries(user=alice, queues=Queue.objects.all(), for_work=True)
        return len(queries)

    enqueue(work_queue(s001, alice, name="One"), minutes=5)
    one = count()
    for name in ("Two", "Three", "Four"):
        enqueue(work_queue(s001, alice, name=name), minutes=5)

    assert count() == one


def test_work_home_colours_the_due_of_the_task_start_would_take(client, alice, s001):
    queue = work_queue(s001, alice, kind="visit_validation")
    audit = enqueue(queue, minutes=-300)
    Slot.objects.filter(task=audit).update(priority=-10)
    enqueue(queue, minutes=3)  # at risk, and first in claim order
    client.force_login(alice)

    body = client.get(reverse("annotator:work")).content.decode()

    row = body.split(f'data-queue="{queue.pk}"')[1].split("</tr>")[0]
    assert 'class="warn"' in row
    assert 'class="bad"' not in row
    assert f'id="start-{queue.pk}"' in row
