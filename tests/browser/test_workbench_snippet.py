"""The snippet-annotation screen in a real browser: the model's boxes pre-filled, a box drawn
by mouse on a scaled-down player stored in clip pixels, moved, a box deleted, submitted."""

from collections import Counter

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.browser.conftest import assert_clean, login, screenshot
from tests.browser.workbench import player_shown, snippet_task_with_model_boxes, wait_for_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH, HEIGHT = 1280, 720


@pytest.fixture
def snippet_task(s001, alice):
    return snippet_task_with_model_boxes(s001, alice, "big-clip", width=WIDTH, height=HEIGHT)


def drag(page, start, end, steps: int = 6) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def test_a_box_drawn_on_a_scaled_down_player_is_stored_in_clip_pixels(page, alice, snippet_task):
    task, predictions = snippet_task
    login(page, alice)
    page.goto("/work/")
    page.keyboard.press("s")
    wait_for_task(page, task.pk)
    video = page.locator("#workbench video.clip")
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())
    player_shown(page)
    expect(page.locator("#wb-product")).to_have_attribute("data-sku", "SKU-0003")

    for _ in range(5):
        page.keyboard.press(".")
    expect(page.locator("#wb-frame")).to_have_text("5")
    canvas = page.locator("#wb-canvas").bounding_box()
    sx, sy = WIDTH / canvas["width"], HEIGHT / canvas["height"]
    assert sx > 1.3, "the player must be shown smaller than the clip"
    x0, y0 = canvas["x"], canvas["y"]

    drag(page, (x0 + 100, y0 + 80), (x0 + 300, y0 + 230))  # a hand box
    expect(page.locator("#wb-box-list li.hand")).to_have_count(1)
    drag(page, (x0 + 200, y0 + 150), (x0 + 230, y0 + 170))  # moved by (30, 20) display px
    page.keyboard.press("Escape")  # nothing selected: b changes only the label drawn next
    page.keyboard.press("b")  # now drawing product boxes
    drag(page, (x0 + 400, y0 + 100), (x0 + 450, y0 + 160))
    expect(page.locator("#wb-box-list li.product")).to_have_count(1)
    page.locator("#wb-box-list li.product [data-act=delete-box]").click()
    expect(page.locator("#wb-box-list li.product")).to_have_count(0)
    page.keyboard.press("t")
    screenshot(page, "workbench-snippet")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()

    result = Annotation.objects.get(task=task).result
    assert result["action"] == "take"
    assert result["sku"] == "SKU-0003"
    drawn = [b for b in result["boxes"] if b["frame"] == 5]
    assert len(drawn) == 1
    box = drawn[0]
    expected = {"x": (100 + 30) * sx, "y": (80 + 20) * sy, "w": 200 * sx, "h": 150 * sy}
    for key, value in expected.items():
        assert abs(box[key] - value) <= 2, (key, box, expected)
    assert box["label"] == "hand"
    assert len(result["boxes"]) == len(predictions) + 1  # the model's boxes were accepted as they were
    assert_clean(page)


def test_seeking_the_clip_uses_range_requests(page, alice, snippet_task):
    task, _ = snippet_task
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if "/video" in r.url else None)
    login(page, alice)
    page.goto("/work/")
    page.keyboard.press("s")
    wait_for_task(page, task.pk)
    video = page.locator("#workbench video.clip")
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())
    page.locator("[data-act=speed][data-speed='2']").click()
    assert page.evaluate("() => document.querySelector('#workbench video.clip').playbackRate") == 2
    page.keyboard.press(">")  # already the fastest
    page.keyboard.press("<")
    assert page.evaluate("() => document.querySelector('#workbench video.clip').playbackRate") == 1
    for _ in range(12):
        page.keyboard.press(".")
    expect(page.locator("#wb-frame")).to_have_text("12")
    assert 206 in statuses, statuses
    assert_clean(page)


def test_a_snippet_screen_swapped_in_after_a_submit_has_the_models_boxes(page, s001, alice):
    # htmx drops <script> from what it swaps in (allowScriptTags off): the screen's data
    # must come in a form that survives the swap, not only on a page load.
    first, _ = snippet_task_with_model_boxes(s001, alice, "clip-one", width=320, height=240)
    second, _ = snippet_task_with_model_boxes(s001, alice, "clip-two", width=320, height=240)
    clip_requests = []
    page.on("request", lambda request: clip_requests.append(request.url) if request.url.endswith("/video") else None)
    login(page, alice)
    page.goto("/work/")
    page.keyboard.press("s")
    shown = page.locator("#workbench")
    expect(shown).to_have_attribute("data-kind", "snippet_annotation")
    claimed = shown.get_attribute("data-task")
    expect(page.locator("#wb-box-list li")).not_to_have_count(0)
    page.keyboard.press("t")
    page.keyboard.press("Control+Enter")
    other = str(second.pk) if claimed == str(first.pk) else str(first.pk)
    wait_for_task(page, other)
    expect(page.locator("#wb-box-list li")).not_to_have_count(0)
    page.keyboard.press("n")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    assert Annotation.objects.filter(task__in=[first, second]).count() == 2
    # Each screen asked for its clip once, the swapped-in one too: a second request (htmx once
    # cloned the <video> while swapping) is nobody's to halt, and an answer to it after the
    # submit had ended the lease was a 404.
    assert sorted(Counter(clip_requests).values()) == [1, 1], clip_requests
    assert_clean(page)
