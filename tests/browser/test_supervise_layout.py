"""The supervisor's pages fit a narrow window: a wide table scrolls inside its own box
instead of pushing the page (and its last columns) off-screen, and filters stay on a line."""

import pytest
from playwright.sync_api import expect

from annotator.services.work import task_claim
from catalog import roles
from tests.annotator.work import add_tasks, work_queue
from tests.browser.conftest import assert_clean, login, screenshot
from tests.factories import UserFactory
from tests.validation.test_views_deliveries import make_delivery
from validation.models import WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NARROW = {"width": 800, "height": 700}


def page_overflow(page) -> int:
    """How far the page scrolls sideways (0: it fits the window)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def sofia(s001, s002, alice, bob):
    """A supervisor of both stores, each with two queues, waiting and late work and a lease."""
    for store, associate in ((s001, alice), (s002, bob)):
        for kind, name in (("snippet_annotation", "Snippet annotation"), ("visit_validation", "Visit validation")):
            queue = work_queue(store, associate, kind=kind, name=name)
            add_tasks(queue, 4)
            add_tasks(queue, 2, due_in=-20)
    task_claim(associate=alice)
    return UserFactory(username="sofia", role=roles.SUPERVISOR, stores=[s001, s002])


def assert_fits(page, url: str, table: str, last_column: str, name: str | None = None) -> None:
    """`url` shows `table` without scrolling the page sideways; `last_column` (a control in
    the table's last column) is reached by scrolling the table, not the page."""
    page.goto(url)
    expect(page.locator(table)).to_be_visible()
    assert page_overflow(page) == 0
    control = page.locator(f"{table} {last_column}").first
    control.scroll_into_view_if_needed()
    expect(control).to_be_in_viewport()
    if name:
        screenshot(page, name)


def test_the_console_and_associates_fit_800_px(page, sofia):
    page.set_viewport_size(NARROW)
    login(page, sofia)
    assert_fits(page, "/supervise/", "#queue-table", "[data-action='pause']", "supervise-800")
    alice_stores = "tr[data-associate='alice'] button"
    assert_fits(page, "/supervise/associates/", "#associate-table", alice_stores, "associates-800")
    assert_clean(page)


def test_delivery_filters_stay_on_one_line_at_1280_px(page, carol):
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, carol)
    page.goto("/supervise/deliveries/")

    status = page.get_by_label("Status").bounding_box()
    since = page.get_by_label("From").bounding_box()
    until = page.get_by_label("To").bounding_box()

    assert abs(since["y"] - status["y"]) < 10 and abs(until["y"] - status["y"]) < 10
    assert since["width"] < 300 and until["width"] < 300
    assert_clean(page)


def test_the_deliveries_table_scrolls_inside_its_box_at_800_px(page, carol, s001, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/a-rather-long-path/for/billing/hooks",
        secret="whsec_test",
        event_types=["receipt.issued"],
    )
    for n in range(3):
        make_delivery(s001, endpoint, n=n)
    page.set_viewport_size(NARROW)
    login(page, carol)
    assert_fits(page, "/supervise/deliveries/", "#delivery-table", "tbody tr td:last-child")
    expect(page.locator("#delivery-table tbody tr")).to_have_count(3)
    assert_clean(page)
