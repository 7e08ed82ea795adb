"""The supervisor's console in a real browser: it updates by itself when work is submitted
elsewhere, its charts draw under the CSP, and the calibration page applies a threshold."""

import datetime as dt
import random
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotator.models import QueueDepthSample
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from tests.annotator.work import add_tasks, work_queue
from tests.browser.conftest import assert_clean, login, screenshot
from tests.factories import UserFactory
from tests.validation.supervise_data import judged_events, served, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESULT = {"action": "none", "boxes": []}


def history(store, queue):
    """A day of receipts and six hours of depth samples, so the charts have something to draw."""
    rng = random.Random(6)
    for hours_ago in range(0, 24, 2):
        for _ in range(3):
            served(store, turnaround_s=rng.uniform(1, 5), issued_ago_s=hours_ago * 3600 + 60, decision="auto_accept")
            served(store, turnaround_s=rng.uniform(200, 1100), issued_ago_s=hours_ago * 3600 + 90)
    now = timezone.now()
    QueueDepthSample.objects.bulk_create(
        QueueDepthSample(queue=queue, at=now - dt.timedelta(minutes=m), depth=int(8 + 6 * rng.random()), in_progress=2)
        for m in range(0, 360, 10)
    )


@pytest.mark.usefixtures("quick_refresh")
def test_the_dashboard_updates_live_when_a_task_is_submitted_elsewhere(page, carol, alice, s001):
    dave = UserFactory(username="dave", role="associate", stores=[s001])
    queue = work_queue(s001, alice, dave, name="Front")
    add_tasks(queue, 3)
    history(s001, queue)
    lease = task_claim(associate=dave)
    task_submit(associate=dave, task_id=lease.task.pk, result=RESULT, submission_id=uuid.uuid4())
    login(page, carol)
    page.goto("/supervise/")
    row = page.locator(f"#queue-table tr[data-queue='{queue.pk}']")
    expect(row.locator("td[data-col='depth']")).to_have_text("2")
    expect(page.locator("#charts[data-loaded]")).to_have_count(1)  # the chart data arrived and drew
    expect(page.locator("#chart-depth-empty")).to_be_hidden()
    expect(page.locator("#chart-depth")).to_be_visible()
    expect(page.locator("#throughput-table tr[data-associate='alice']")).to_have_count(0)

    lease = task_claim(associate=alice)  # elsewhere: alice's own browser, here the service
    expect(row.locator("td[data-col='in_progress']")).to_have_text("1", timeout=5_000)
    expect(page.locator("#lease-table")).to_contain_text("alice")
    expect(row.locator("td[data-col='depth']")).to_have_text("1")
    task_submit(associate=alice, task_id=lease.task.pk, result=RESULT, submission_id=uuid.uuid4())

    expect(row.locator("td[data-col='in_progress']")).to_have_text("0", timeout=5_000)
    expect(row.locator("td[data-col='depth']")).to_have_text("1")
    expect(page.locator("#no-leases")).to_be_visible()
    alice_row = page.locator("#throughput-table tr[data-associate='alice'] td[data-col='last_hour']")
    expect(alice_row).to_have_text("1", timeout=5_000)  # the console polls every second here (quick_refresh)
    page.wait_for_timeout(500)
    screenshot(page, "dashboard")
    page.locator("#panel-charts").scroll_into_view_if_needed()
    screenshot(page, "dashboard-charts")
    assert_clean(page)


def test_charts_with_nothing_to_draw_say_so(page, carol, alice, s001):
    add_tasks(work_queue(s001, alice, name="Front"), 2)  # waiting tasks, but no depth sample yet
    login(page, carol)
    page.goto("/supervise/")

    expect(page.locator("#charts[data-loaded]")).to_have_count(1)
    for chart in ("turnaround", "depth", "associates"):
        expect(page.locator(f"#chart-{chart}-empty")).to_be_visible()
        expect(page.locator(f"#chart-{chart}")).to_be_hidden()
    expect(page.locator("#chart-depth-empty")).to_contain_text("No queue depth recorded")
    page.locator("#panel-charts").scroll_into_view_if_needed()
    screenshot(page, "dashboard-charts-empty")
    assert_clean(page)


def test_pausing_a_queue_from_the_dashboard(page, carol, alice, s001):
    queue = work_queue(s001, alice, name="Front")
    add_tasks(queue, 1)
    login(page, carol)
    page.goto("/supervise/")
    row = page.locator(f"#queue-table tr[data-queue='{queue.pk}']")

    row.get_by_role("button", name="Pause").click()

    expect(row).to_contain_text("paused")
    expect(page.locator(".msg.success")).to_contain_text("paused")
    assert task_claim(associate=alice) is None
    assert_clean(page)


def test_calibration_page_recommends_and_applies_a_threshold(page, carol, alice, s001):
    rng = random.Random(3)
    judgments = []
    for _ in range(600):
        confidence = round(rng.uniform(0.4, 1.0), 3)
        judgments.append((confidence, rng.random() < confidence**3))
    judged_events(s001, alice, judgments, model_version="jwo-2026.11.1")
    judged_events(s001, alice, [(c, r or c > 0.9) for c, r in judgments[:300]], model_version="jwo-2026.11.2")
    recent = timezone.now() - dt.timedelta(days=1)
    for _ in range(50):
        visit(s001, exited_at=recent, min_confidence=rng.uniform(0.5, 1.0))
    login(page, carol)

    page.goto("/supervise/calibration/?store=S001&target=5")
    threshold = page.locator("[data-kpi='threshold']").inner_text()
    page.wait_for_timeout(300)
    screenshot(page, "calibration")
    page.get_by_role("button", name=f"Apply {threshold} to S001").click()
    # Nothing changes before the confirm step, which shows the expected effect first.
    expect(page.locator("#confirm")).to_contain_text("Nothing has changed yet")
    s001.refresh_from_db()
    assert abs(s001.auto_accept_threshold - float(threshold)) >= 0.001
    page.locator("#confirm-yes").click()

    expect(page.locator(".msg.success")).to_contain_text("auto-accept threshold is now")
    expect(page.locator("#policy-changes")).to_contain_text("auto_accept_threshold")
    s001.refresh_from_db()
    assert abs(s001.auto_accept_threshold - float(threshold)) < 0.001
    assert_clean(page)
