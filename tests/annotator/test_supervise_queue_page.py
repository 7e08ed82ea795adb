"""The queue control page: every open task is reachable a page at a time in claim order (the
low-priority audits on the last page, where they can be re-prioritised), deadlines are
coloured like the rest of the console, and a change goes back to the page it came from."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.models import Task
from annotator.selectors.queues import OPEN_TASKS_PER_PAGE, open_tasks_page, sla_state
from annotator.services.work import task_claim
from tests.annotator.work import add_tasks, work_queue


@pytest.fixture
def queue(s001, alice):
    return work_queue(s001, alice, name="Front")


@pytest.fixture
def supervisor(client, carol):
    client.force_login(carol)
    return client


def page_url(queue, page=None) -> str:
    url = reverse("annotator:supervise_queue", kwargs={"queue_id": queue.pk})
    return f"{url}?page={page}" if page is not None else url


def task_ids(body: str) -> list[str]:
    return re.findall(r'<tr data-task="([0-9a-f-]+)">', body)


def test_pages_hold_every_open_task_in_claim_order(queue, alice):
    audits = add_tasks(queue, 5, priority=-10, due_in=-300)  # long past due, but lowest priority
    urgent = add_tasks(queue, 3, priority=5, due_in=60)
    reviews = add_tasks(queue, OPEN_TASKS_PER_PAGE, due_in=10)

    first = open_tasks_page(queue=queue, number=1)
    last = open_tasks_page(queue=queue, number=2)

    assert first.paginator.count == OPEN_TASKS_PER_PAGE + 8
    ordered = [task.pk for task in (*first.object_list, *last.object_list)]
    assert ordered == [task.pk for task in (*urgent, *reviews, *audits)]
    # The claim takes them in the same order.
    assert task_claim(associate=alice).task.pk == ordered[0]


@pytest.mark.parametrize(("asked", "shown"), [(None, 1), ("2", 2), ("99", 2), ("x", 1), ("-1", 2)])
def test_a_page_number_that_is_not_a_number_gives_the_first_page_and_one_out_of_range_the_last(queue, asked, shown):
    add_tasks(queue, OPEN_TASKS_PER_PAGE + 1)

    assert open_tasks_page(queue=queue, number=asked).number == shown


def test_the_page_shows_where_it_is_and_links_to_the_others(supervisor, queue):
    add_tasks(queue, 2 * OPEN_TASKS_PER_PAGE + 7)
    audits = add_tasks(queue, 3, priority=-10, due_in=-300)

    first = supervisor.get(page_url(queue)).content.decode()
    last = supervisor.get(page_url(queue, 3)).content.decode()

    assert f"1–{OPEN_TASKS_PER_PAGE} of {2 * OPEN_TASKS_PER_PAGE + 10}" in first
    assert 'href="?page=2" rel="next"' in first
    assert 'href="?page=3">Last' in first
    assert 'rel="prev"' not in first
    assert len(task_ids(first)) == OPEN_TASKS_PER_PAGE
    assert f"{2 * OPEN_TASKS_PER_PAGE + 1}–{2 * OPEN_TASKS_PER_PAGE + 10} of {2 * OPEN_TASKS_PER_PAGE + 10}" in last
    assert 'href="?page=2" rel="prev"' in last
    assert 'rel="next"' not in last
    assert task_ids(last)[-3:] == [str(task.pk) for task in audits]


def test_a_priority_set_on_a_later_page_goes_back_to_that_page(supervisor, queue):
    add_tasks(queue, OPEN_TASKS_PER_PAGE)
    [audit] = add_tasks(queue, 1, priority=-10, due_in=-300)
    body = supervisor.get(page_url(queue, 2)).content.decode()
    assert f'data-task="{audit.pk}"' in body
    assert f'name="next" value="{page_url(queue, 2)}"' in body

    response = supervisor.post(
        reverse("annotator:task_priority", kwargs={"task_id": audit.pk}), {"priority": "3", "next": page_url(queue, 2)}
    )

    assert response.status_code == 302
    assert response["Location"] == page_url(queue, 2)
    assert Task.objects.get(pk=audit.pk).priority == 3
    # Now first in claim order, so on the first page.
    assert task_ids(supervisor.get(page_url(queue)).content.decode())[0] == str(audit.pk)


def test_due_is_coloured_breached_at_risk_or_ok(supervisor, queue):
    [breached] = add_tasks(queue, 1, due_in=-30)
    [at_risk] = add_tasks(queue, 1, due_in=3)
    [ok] = add_tasks(queue, 1, due_in=45)

    body = supervisor.get(page_url(queue)).content.decode()

    def due_cell(task) -> str:
        return body.split(f'data-task="{task.pk}"')[1].split('data-col="due"')[1].split("</td>")[0]

    assert 'data-sla="breached"' in due_cell(breached) and 'class="bad"' in due_cell(breached)
    assert "badge bad" in due_cell(breached)
    assert 'data-sla="at-risk"' in due_cell(at_risk) and 'class="warn"' in due_cell(at_risk)
    assert 'data-sla="ok"' in due_cell(ok) and "badge" not in due_cell(ok)


def test_sla_state_edges():
    now = timezone.now()

    assert sla_state(now, now=now) == "breached"
    assert sla_state(now + dt.timedelta(minutes=5), now=now) == "at-risk"
    assert sla_state(now + dt.timedelta(minutes=5, seconds=1), now=now) == "ok"


def test_an_empty_queue_says_so_without_pages(supervisor, queue):
    body = supervisor.get(page_url(queue)).content.decode()

    assert "Nothing open in this queue." in body
    assert 'id="task-pager"' not in body


def test_the_page_lists_this_queues_tasks_only(supervisor, queue, s001, alice):
    mine = add_tasks(queue, 2)
    other = work_queue(s001, alice, name="Back")
    add_tasks(other, 3)

    body = supervisor.get(page_url(queue)).content.decode()

    assert task_ids(body) == [str(task.pk) for task in mine]
    assert "1–2 of 2" in body


@pytest.mark.parametrize("next_", ["https://elsewhere.example/", "//elsewhere.example/", "javascript:alert(1)", ""])
def test_a_change_never_goes_back_off_site(supervisor, queue, next_):
    [task] = add_tasks(queue, 1)

    response = supervisor.post(
        reverse("annotator:task_priority", kwargs={"task_id": task.pk}), {"priority": "3", "next": next_}
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith("//")
    assert Task.objects.get(pk=task.pk).priority == 3
