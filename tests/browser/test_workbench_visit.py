"""The visit-validation screen in a real browser: keyboard only, corrections, media access,
a lease lost while the page is open. Real H.264 clips (annotator.synth) through
snippet_ingest, visits through visit_ingest, on the live server."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Annotation, Slot
from annotator.services.work import task_claim
from tests.annotator.work import expire_leases
from tests.browser.conftest import assert_clean, login, screenshot
from tests.browser.workbench import dress_catalog, ingest_clip, ingest_visit, join_queue, wait_for_task
from validation.models import Receipt, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expected_refusals(page) -> None:
    """The browser logs every 4xx answer as a console error. After a lost lease, 409 (the
    heartbeat) and 404 (the lost task's media, refused by design) are expected."""
    page.problems[:] = [p for p in page.problems if "status of 409" not in p and "status of 404" not in p]


@pytest.fixture
def world(s001, alice, dave):
    """Two pending visits (3 unsure events where top-1 is right, plus a sure one) and a
    third one queued behind them, each event with a real clip."""
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice, dave)
    clips = [ingest_clip(s001, f"clip-{n}")[0].snippet for n in range(3)]

    def events():
        return [
            {
                "sku": "SKU-0001",
                "confidence": 0.62,
                "snippet": clips[0].external_id,
                "candidates": [{"sku": "SKU-0002", "score": 0.21}, {"sku": "SKU-0003", "score": 0.09}],
            },
            {
                "sku": "SKU-0004",
                "confidence": 0.55,
                "snippet": clips[1].external_id,
                "candidates": [{"sku": "SKU-0005", "score": 0.3}],
            },
            {"sku": "SKU-0006", "confidence": 0.97},
            {
                "sku": "SKU-0007",
                "confidence": 0.48,
                "quantity": 2,
                "snippet": clips[2].external_id,
                "candidates": [{"sku": "SKU-0008", "score": 0.4}, {"sku": "SKU-0009", "score": 0.1}],
            },
        ]

    first = ingest_visit(s001, events(), external_id="v-first", exited_minutes_ago=12)
    second = ingest_visit(s001, events(), external_id="v-second", exited_minutes_ago=4)
    third = ingest_visit(s001, events(), external_id="v-third", exited_minutes_ago=1)
    return {"tasks": [first.task, second.task, third.task], "visits": [first.visit, second.visit, third.visit]}


def start(page, user):
    login(page, user)
    page.goto("/work/")
    page.keyboard.press("s")
    page.wait_for_selector("#workbench[data-kind=visit_validation]")


def test_three_unsure_events_with_top1_right_take_four_keys(page, alice, world):
    first, second, _ = world["tasks"]
    start(page, alice)
    wait_for_task(page, first.pk)
    expect(page.locator("#wb-items > li.ev.low")).to_have_count(3)
    expect(page.locator("#wb-items > li.ev:not(.low) .ev-body")).to_be_hidden()
    expect(page.locator("#wb-items > li.ev.current")).to_have_attribute("data-sku", "SKU-0001")
    expect(page.locator("#wb-sla")).to_have_class("sla at-risk")
    expect(page.get_by_text("anon-browser-shopper")).to_have_count(0)
    page.wait_for_timeout(400)  # let the first clip start
    screenshot(page, "workbench-visit")

    keys = ["Enter", "Enter", "Enter", "Control+Enter"]
    for key in keys:
        page.keyboard.press(key)
    wait_for_task(page, second.pk)
    assert len(keys) <= 4
    expect(page.locator("#wb-items > li.ev.current")).to_be_focused()

    annotation = Annotation.objects.get(task=first)
    assert [e["verdict"] for e in annotation.result["events"]] == ["confirm"] * 4
    assert annotation.result["missed"] == []
    visit = Visit.objects.get(pk=first.subject_id)
    assert visit.status == Visit.Status.VALIDATED
    receipts = Receipt.objects.filter(visit=visit)
    if receipts.exists():  # the feedback work issues receipts on validation
        latest = receipts.order_by("-issued_at").first()
        assert latest.total_minor == sum(line["price_minor"] * line["quantity"] for line in visit.predicted_cart)
    assert_clean(page)


def test_corrections_by_candidate_search_reject_and_missed_item_are_stored(page, alice, world):
    first = world["tasks"][0]
    start(page, alice)
    wait_for_task(page, first.pk)
    # Event 1: the model's second guess (candidate key 1), confirmed.
    page.keyboard.press("1")
    expect(page.locator("#wb-items > li.ev.current [data-field=now]")).to_contain_text("SKU-0002")
    page.keyboard.press("Enter")
    # Event 2: a product found by search.
    page.keyboard.press("/")
    expect(page.locator("#wb-search")).to_be_visible()
    page.keyboard.type("SKU-0011")
    expect(page.locator("#wb-search-results .pick")).to_have_count(1)
    expect(page.locator("#wb-search-results .pick.active")).to_have_attribute("data-sku", "SKU-0011")
    screenshot(page, "workbench-visit-search")
    page.keyboard.press("Enter")
    expect(page.locator("#wb-search")).to_be_hidden()
    page.keyboard.press("Enter")
    # Event 4 (quantity 2): did not happen.
    expect(page.locator("#wb-items > li.ev.current")).to_have_attribute("data-sku", "SKU-0007")
    page.keyboard.press("x")
    # A missed item: SKU-0012, quantity 2.
    page.keyboard.press("m")
    page.keyboard.type("SKU-0012")
    expect(page.locator("#wb-search-results .pick.active")).to_have_attribute("data-sku", "SKU-0012")
    page.keyboard.press("Enter")
    page.keyboard.press("+")
    expect(page.locator("#wb-missed-list li.current [data-field=qty]")).to_have_text("2")
    # SKU-0001 -> 0002 and 0004 -> 0011 change two lines each; 0007 goes, 0012 comes.
    expect(page.locator("#wb-cart-lines tr.diff")).to_have_count(6)
    screenshot(page, "workbench-visit-corrected")
    page.keyboard.press("Control+Enter")
    wait_for_task(page, world["tasks"][1].pk)

    result = Annotation.objects.get(task=first).result
    ids = [e["id"] for e in first.payload["events"]]
    # The three low events were walked in turn (opened), the confident one never was: its
    # confirm is unchecked (tests/browser/test_workbench_evidence.py measures the rest).
    opened = [(e.pop("evidence")["opened"], e.pop("checked")) for e in result["events"]]
    assert opened == [(True, True), (True, True), (False, False), (True, True)]
    assert result["events"] == [
        {"event": ids[0], "verdict": "correct", "sku": "SKU-0002", "action": "take", "quantity": 1},
        {"event": ids[1], "verdict": "correct", "sku": "SKU-0011", "action": "take", "quantity": 1},
        {"event": ids[2], "verdict": "confirm"},
        {"event": ids[3], "verdict": "reject"},
    ]
    assert result["missed"] == [{"sku": "SKU-0012", "action": "take", "quantity": 2, "snippet": None}]
    assert_clean(page)


def test_mouse_only_validation_works_too(page, alice, world):
    first = world["tasks"][0]
    start(page, alice)
    wait_for_task(page, first.pk)
    for _ in range(3):
        page.locator("#wb-items > li.ev.current [data-act=confirm]").click()
    page.locator("#wb-items > li.ev:not(.low) .ev-head").click()
    page.locator("#wb-items > li.ev.current [data-act=action][data-value=put_back]").click()
    page.locator("#wb-submit").click()
    wait_for_task(page, world["tasks"][1].pk)
    events = Annotation.objects.get(task=first).result["events"]
    assert events[2]["verdict"] == "correct"
    assert events[2]["action"] == "put_back"
    assert_clean(page)


def test_help_overlay_lists_every_key(page, alice, world):
    start(page, alice)
    wait_for_task(page, world["tasks"][0].pk)  # keys work once the workbench has mounted the screen
    page.keyboard.press("?")
    expect(page.locator("#wb-help")).to_be_visible()
    expect(page.locator("#wb-help")).to_contain_text("Ctrl")
    screenshot(page, "workbench-visit-help")
    page.keyboard.press("Escape")
    expect(page.locator("#wb-help")).to_be_hidden()
    assert_clean(page)


def test_seeking_uses_range_requests_and_media_stays_private(page, browser, live_server, alice, dave, world):
    first = world["tasks"][0]
    statuses = []
    page.on(
        "response", lambda r: statuses.append(r.status) if "/media/snippets/" in r.url and "/video" in r.url else None
    )
    start(page, alice)
    wait_for_task(page, first.pk)
    video = page.locator("#wb-items > li.ev.current video")
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())
    page.keyboard.press(".")
    page.keyboard.press(".")
    page.wait_for_function("v => v.currentTime > 0.1 && !v.seeking", arg=video.element_handle())
    assert 206 in statuses, statuses
    src = video.get_attribute("src")

    other = browser.new_context(base_url=live_server.url)
    other_page = other.new_page()
    other_page.base_url = live_server.url
    login(other_page, dave)
    assert other_page.request.get(src).status == 404
    assert other_page.request.get(src, headers={"Range": "bytes=0-99"}).status == 404
    other.close()
    assert_clean(page)


def test_a_lease_lost_while_the_page_is_open_is_shown_and_the_next_task_follows(page, alice, dave, world):
    first, second, _ = world["tasks"]
    start(page, alice)
    wait_for_task(page, first.pk)
    expire_leases(task=first)
    assert task_claim(associate=dave).task.pk == first.pk  # dave takes the expired slot
    page.evaluate("window.LoupeWorkbench.heartbeat()")
    expect(page.locator("#wb-notice")).to_contain_text("You lost the previous task")
    wait_for_task(page, second.pk)
    expect(page).to_have_url(reverse("annotator:task", args=[second.pk]))
    screenshot(page, "workbench-visit-lease-lost")
    # The recovered screen works: three Enters and a submit.
    for key in ["Enter", "Enter", "Enter", "Control+Enter"]:
        page.keyboard.press(key)
    wait_for_task(page, world["tasks"][2].pk)
    assert Annotation.objects.filter(task=second, associate=alice).exists()
    assert not Annotation.objects.filter(task=first).exists()
    assert Slot.objects.get(task=first).holder == dave
    expected_refusals(page)
    assert_clean(page)


def test_a_submit_after_the_lease_ran_out_unnoticed_renews_it_and_is_stored(page, alice, world):
    """The page slept past its lease and nobody took the task: the submit is refused (409,
    no live lease), the page renews the lease with a heartbeat and sends the same
    submission again, so the work is stored once and the next task follows."""
    first, second, _ = world["tasks"]
    start(page, alice)
    wait_for_task(page, first.pk)
    expire_leases(task=first)
    for key in ["Enter", "Enter", "Enter", "Control+Enter"]:
        page.keyboard.press(key)
    wait_for_task(page, second.pk)
    assert Annotation.objects.filter(task=first, associate=alice).count() == 1
    assert Slot.objects.get(task=first).state == Slot.State.DONE
    expect(page.get_by_text("You lost")).to_have_count(0)
    expected_refusals(page)  # the first answer, 409 lease_lost
    assert_clean(page)


def test_a_click_on_the_player_leaves_enter_confirming_the_event(page, alice, world):
    """Play, a frame step or a speed clicked with the mouse gives the focus back to the
    event: the next Enter confirms it (as the status says) instead of clicking the button
    again. The Play button says what it will do: the clip autoplays, so it reads Pause."""
    first, _, _ = world["tasks"]
    start(page, alice)
    wait_for_task(page, first.pk)
    current = page.locator("#wb-items > li.ev.current")
    video = current.locator("video")
    page.wait_for_function("v => !v.paused", arg=video.element_handle())
    play = current.locator("[data-act=play]")
    expect(play).to_have_text("Pause Space")
    play.click()
    page.wait_for_function("v => v.paused", arg=video.element_handle())
    expect(play).to_have_text("Play Space")
    current.locator("[data-act=speed][data-speed='2']").click()
    expect(current).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#wb-items > li.ev").first.locator("[data-field=verdict]")).to_have_text("confirmed")
    assert_clean(page)
