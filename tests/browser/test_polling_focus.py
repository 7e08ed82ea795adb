"""The pages that refresh themselves (htmx polls that swap their region whole) keep the
keyboard focus where it was: a control in a swapped region has a stable id, which htmx
focuses again in the new content. Without it, focus falls back to <body> on every poll."""

import pytest

from annotator.services.work import task_claim
from tests.annotator.work import add_tasks, work_queue
from tests.browser.conftest import assert_clean, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_refresh")]

# The pages poll every second here (quick_refresh): wait a good deal longer than one.
POLL_TIMEOUT_MS = 5_000


def focus_across_a_poll(page, path: str, control: str) -> None:
    """Focus `control` by keyboard, wait until the next poll of `path` has replaced it, and
    check that the new copy has the focus."""
    page.locator(control).focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focused by keyboard, as the reviewer did
    assert page.evaluate("selector => document.activeElement.matches(selector)", control)
    page.eval_on_selector(control, "element => { element.dataset.beforePoll = '1'; }")

    with page.expect_response(
        lambda response: response.url.endswith(path) and response.request.headers.get("hx-request") == "true",
        timeout=POLL_TIMEOUT_MS,
    ):
        pass
    # The poll's content has replaced the region (the new control lacks the mark)...
    page.wait_for_function(
        "selector => { const el = document.querySelector(selector); return el && !el.dataset.beforePoll; }",
        arg=control,
    )
    # ...and the new control has the focus, not <body>.
    assert page.evaluate("() => document.activeElement.id") == control.removeprefix("#")


def test_the_work_home_keeps_focus_on_a_queues_start_across_a_refresh(page, alice, s001):
    queue = work_queue(s001, alice, name="Front")
    add_tasks(queue, 3)
    login(page, alice)
    page.goto("/work/")

    focus_across_a_poll(page, "/work/", f"#start-{queue.pk}")

    assert_clean(page)


def test_the_console_keeps_focus_on_pause_and_release_across_a_refresh(page, carol, alice, s001):
    queue = work_queue(s001, alice, name="Front")
    add_tasks(queue, 3)
    lease = task_claim(associate=alice)
    login(page, carol)
    page.goto("/supervise/")

    focus_across_a_poll(page, "/supervise/", f"#pause-{queue.pk}")
    focus_across_a_poll(page, "/supervise/", f"#release-{lease.slot_id}")

    assert_clean(page)
