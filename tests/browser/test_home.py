"""Sign in, the home page, the associate's work home and the supervisor's live queues."""

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotator.models import QueueMembership
from annotator.services.queues import queue_for, task_enqueue
from annotator.services.work import task_claim
from tests.browser.conftest import assert_clean, login, screenshot, sign_in
from validation.services import visit_ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def enqueue(queue, *, minutes: float, events: int = 2):
    return task_enqueue(
        queue=queue,
        subject_id=uuid.uuid4(),
        due_at=timezone.now() + dt.timedelta(minutes=minutes),
        payload={
            "visit": str(uuid.uuid4()),
            "store": queue.store.code,
            "events": [
                {"id": str(uuid.uuid4()), "action": "take", "sku": f"SKU-000{n + 1}", "quantity": 1, "confidence": 0.61}
                for n in range(events)
            ],
        },
    )


@pytest.fixture
def alice_queue(alice, s001):
    queue = queue_for(store=s001, kind="visit_validation")
    QueueMembership.objects.get_or_create(queue=queue, user=alice)
    return queue


def test_associate_signs_in_and_lands_on_the_work_home(page, alice):
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    expect(page.get_by_role("heading", name="Sign in to Loupe")).to_be_visible()
    screenshot(page, "login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_be_visible()
    sign_in(page, alice)
    expect(page).to_have_url("/work/")  # an associate lands on their work, not a welcome page
    expect(page.get_by_role("link", name="Queues", exact=True)).to_have_count(0)
    screenshot(page, "home")
    page.get_by_role("link", name="Home").click()
    expect(page).to_have_url("/work/")
    assert_clean(page)


def ingest_pending_visit(store, *, external_id: str, exited_minutes_ago: float, events: int):
    """A real visit the model is unsure about: it waits for review, due `sla_minutes` after exit."""
    exited = timezone.now() - dt.timedelta(minutes=exited_minutes_ago)
    result = visit_ingest(
        store=store,
        payload={
            "external_id": external_id,
            "store": store.code,
            "shopper": "anon-browser",
            "entered_at": (exited - dt.timedelta(minutes=6)).isoformat(),
            "exited_at": exited.isoformat(),
            "model_version": "browser-test",
            "events": [
                {
                    "external_id": f"e{n}",
                    "action": "take",
                    "sku": f"SKU-000{n + 1}",
                    "quantity": 1,
                    "confidence": 0.55,
                    "occurred_at": (exited - dt.timedelta(minutes=3)).isoformat(),
                    "camera": "C01",
                }
                for n in range(events)
            ],
        },
    )
    assert result.task is not None
    return result.task


def test_work_home_lists_queues_and_s_starts_the_most_urgent_task(page, alice, alice_queue, s001):
    ingest_pending_visit(s001, external_id="v-later", exited_minutes_ago=1, events=1)
    urgent = ingest_pending_visit(s001, external_id="v-urgent", exited_minutes_ago=12, events=3)
    login(page, alice)
    page.goto("/work/")
    row = page.locator(f"#work-queues tr[data-queue='{alice_queue.pk}']")
    expect(row).to_contain_text("S001")
    expect(row.locator("td.num")).to_have_text("2")
    expect(page.locator("#start")).to_be_visible()
    screenshot(page, "work-home")
    page.keyboard.press("s")
    expect(page).to_have_url(f"/work/tasks/{urgent.pk}/")
    expect(page.locator(f"#workbench[data-task='{urgent.pk}']")).to_be_visible()
    screenshot(page, "task")
    assert_clean(page)


@pytest.mark.usefixtures("quick_refresh")
def test_work_home_says_when_nothing_is_waiting_and_updates_by_itself(page, alice, alice_queue, s001):
    login(page, alice)
    page.goto("/work/")
    expect(page.locator("#nothing-waiting")).to_be_visible()
    expect(page.locator("#start")).to_have_count(0)
    screenshot(page, "work-home-empty")
    ingest_pending_visit(s001, external_id="v-new", exited_minutes_ago=2, events=2)
    expect(page.locator("#start")).to_be_visible(timeout=5_000)  # the page polls every second here (quick_refresh)
    expect(page.locator("#nothing-waiting")).to_have_count(0)
    assert_clean(page)


@pytest.mark.usefixtures("quick_refresh")
def test_supervisor_queues_refresh_by_themselves(page, carol, alice, alice_queue, s001):
    queue = alice_queue
    enqueue(queue, minutes=30)
    enqueue(queue, minutes=12)
    assert task_claim(associate=alice) is not None  # one live lease
    paused = queue_for(store=s001, kind="snippet_annotation")
    paused.is_paused = True
    paused.save(update_fields=["is_paused"])
    task_enqueue(queue=paused, subject_id=uuid.uuid4(), due_at=timezone.now() + dt.timedelta(hours=1), payload={})
    login(page, carol)
    page.goto("/supervise/")
    row = page.locator(f"#queue-table tr[data-queue='{queue.pk}']")
    depth = row.locator("td[data-col='depth']")
    expect(depth).to_have_text("1")
    expect(row.locator("td[data-col='in_progress']")).to_have_text("1")
    expect(page.locator(f"#queue-table tr[data-queue='{paused.pk}']")).to_contain_text("paused")
    enqueue(queue, minutes=2)  # at risk
    enqueue(queue, minutes=-1)  # breached
    expect(depth).to_have_text("3", timeout=5_000)  # the console polls every second here
    expect(row.locator("td[data-col='at_risk']")).to_have_text("1")
    expect(row.locator("td[data-col='breached']")).to_have_text("1")
    screenshot(page, "supervise")
    assert_clean(page)


@pytest.mark.usefixtures("quick_refresh")
def test_supervisor_page_goes_to_sign_in_when_the_session_ends(page, carol, s001):
    login(page, carol)
    page.goto("/supervise/")
    expect(page.locator("#queues")).to_be_visible()
    page.context.clear_cookies()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/supervise/"), timeout=5_000)  # at the next poll
    expect(page.locator("#queues")).to_have_count(0)
    expect(page.get_by_role("heading", name="Sign in to Loupe")).to_be_visible()
    assert_clean(page)


def test_api_docs_render_offline_under_their_policy(page, carol):
    login(page, carol)
    page.goto("/api/docs/")
    expect(page.get_by_text("/api/v1/visits/", exact=True).first).to_be_visible()
    # OpenAPI 3.1: the receipt webhooks render too.
    expect(page.get_by_text("receipt.corrected").first).to_be_visible()
    screenshot(page, "api-docs")
    assert_clean(page)


def test_no_request_leaves_the_machine_and_each_that_tries_is_named(page):
    """The guard every browser test runs under, below Loupe's own Content-Security-Policy (a
    page without one here): an image from a host outside and a fetch from an address outside
    get nothing, and the test is told which requests tried."""
    page.goto("about:blank")
    page.evaluate("""async () => {
        const image = new Image();
        const loaded = new Promise(resolve => { image.onload = image.onerror = resolve; });
        image.src = "http://packshots.example.com/p.png";
        await loaded;
        await fetch("http://203.0.113.7/beacon", {mode: "no-cors"}).catch(() => null);
    }""")
    tried = [problem for problem in page.problems if problem.startswith("request outside Loupe")]
    assert len(tried) == 2, page.problems
    assert "packshots.example.com/p.png" in tried[0] and "203.0.113.7/beacon" in tried[1]
    assert all("ERR_PROXY_CONNECTION_FAILED" in problem for problem in tried), tried
