"""The snippet screen with the keyboard only: boxes selected, moved, resized, added and
deleted with keys on a scaled-down player, stored in exact clip pixels; the box editor's
keyboard clamps at the frame's edges."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.browser.conftest import assert_clean, screenshot
from tests.browser.workbench import open_snippet, press, snippet_task_with_model_boxes, wait_for_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH, HEIGHT = 1280, 720


@pytest.fixture
def snippet_task(s001, alice):
    return snippet_task_with_model_boxes(s001, alice, "key-clip", width=WIDTH, height=HEIGHT)


def selected(page) -> str:
    return page.locator("#wb-box-list li.on [data-act=select-box]").inner_text()


def as_box(prediction: dict) -> dict:
    x, y, w, h = prediction["box"]
    return {"frame": prediction["frame"], "label": prediction["label"], "x": x, "y": y, "w": w, "h": h}


def in_order(boxes: list[dict]) -> list[dict]:
    return sorted(boxes, key=lambda b: sorted(b.items()))


def test_boxes_are_edited_with_the_keyboard_only_in_clip_pixels(page, alice, snippet_task):
    task, predictions = snippet_task
    on_six = [as_box(p) for p in predictions if p["frame"] == 6]
    assert [b["label"] for b in on_six] == ["hand", "product"]
    product = on_six[1]
    open_snippet(page, alice, task)
    canvas = page.locator("#wb-canvas").bounding_box()
    assert WIDTH / canvas["width"] > 1.3, "the player must be shown smaller than the clip"

    press(page, ".", 6)
    expect(page.locator("#wb-frame")).to_have_text("6")
    expect(page.locator("#wb-box-list li.on")).to_have_count(0)
    press(page, "]")
    assert selected(page).startswith("hand (model)")
    press(page, "]")
    assert selected(page).startswith("product (model)")
    press(page, "]")  # wraps to the first box
    assert selected(page).startswith("hand (model)")
    press(page, "[")  # and back, wrapping the other way
    assert selected(page).startswith("product (model)")

    press(page, "ArrowRight", 3)
    press(page, "Shift+ArrowDown")
    press(page, "ArrowUp")
    press(page, "Alt+ArrowRight", 2)
    press(page, "Alt+Shift+ArrowDown")
    press(page, "Alt+ArrowUp")
    moved = {**product, "x": product["x"] + 3, "y": product["y"] + 9, "w": product["w"] + 2, "h": product["h"] + 9}
    expect(page.locator("#wb-box-list li.on [data-act=select-box]")).to_have_text(
        f"product · {moved['x']},{moved['y']} {moved['w']}×{moved['h']}"
    )

    press(page, "]")
    assert selected(page).startswith("hand (model)")
    press(page, "Delete")
    expect(page.locator("#wb-box-list li.hand")).to_have_count(0)

    press(page, "a")  # a hand box (the label being drawn) in the middle of the frame
    side = min(WIDTH, HEIGHT) // 4
    added = {"frame": 6, "label": "hand", "x": (WIDTH - side) // 2, "y": (HEIGHT - side) // 2, "w": side, "h": side}
    expect(page.locator("#wb-box-list li.hand.on")).to_have_count(1)
    press(page, "Shift+ArrowLeft", 2)
    press(page, "ArrowDown")
    added |= {"x": added["x"] - 20, "y": added["y"] + 1}
    screenshot(page, "workbench-snippet-keys")
    press(page, "Escape")
    expect(page.locator("#wb-box-list li.on")).to_have_count(0)
    press(page, "ArrowLeft")  # nothing selected: nothing moves
    press(page, "Alt+ArrowLeft")  # taken by the editor, not the browser's "back"
    wait_for_task(page, task.pk)

    # Keys typed into the product search are text, not box edits.
    press(page, "/")
    expect(page.locator("#wb-search")).to_be_visible()
    page.keyboard.type("a]")
    expect(page.locator("#wb-search-q")).to_have_value("a]")
    press(page, "Escape")  # one Escape closes the search, text and all
    expect(page.locator("#wb-search")).to_be_hidden()
    expect(page.locator("#wb-box-list li")).to_have_count(2)

    press(page, "t")
    press(page, "Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()

    result = Annotation.objects.get(task=task).result
    assert result["action"] == "take"
    untouched = [as_box(p) for p in predictions if p["frame"] != 6]
    assert in_order(result["boxes"]) == in_order([*untouched, moved, added])
    assert_clean(page)


def test_keyboard_moves_and_resizes_stop_at_the_frame_edges(page, s001, alice):
    # A small clip: Shift+arrows move 10 clip pixels, and every press is a real key event.
    width, height = 320, 240
    task, _ = snippet_task_with_model_boxes(s001, alice, "key-clip-small", width=width, height=height)
    open_snippet(page, alice, task)
    assert page.evaluate("() => window.LoupeWorkbench.screen.editor.onFrame().length") == 1
    press(page, "]")
    press(page, "Shift+ArrowRight", width // 10 + 2)
    press(page, "Shift+ArrowDown", height // 10 + 2)
    box = page.evaluate("() => window.LoupeWorkbench.screen.editor.result().find(b => b.frame === 0)")
    assert (box["x"] + box["w"], box["y"] + box["h"]) == (width, height)
    press(page, "Alt+Shift+ArrowRight")  # no room left to grow
    press(page, "Alt+ArrowDown")
    assert page.evaluate("() => window.LoupeWorkbench.screen.editor.result().find(b => b.frame === 0)") == box
    press(page, "Shift+ArrowLeft", width // 10 + 2)
    press(page, "Shift+ArrowUp", height // 10 + 2)
    press(page, "Alt+Shift+ArrowLeft", 30)
    press(page, "Alt+Shift+ArrowUp", 30)
    shrunk = page.evaluate("() => window.LoupeWorkbench.screen.editor.result().find(b => b.frame === 0)")
    assert (shrunk["x"], shrunk["y"], shrunk["w"], shrunk["h"]) == (0, 0, 1, 1)
    assert_clean(page)


def test_the_box_editor_clamps_keyboard_edits_inside_the_frame(page, alice, snippet_task):
    """The editor on its own, on a small frame: every edge, the minimum size, and what it
    leaves to others (no selection, a selection left on another frame, Ctrl and Meta
    combinations, other keys)."""
    task, _ = snippet_task
    open_snippet(page, alice, task)
    outcome = page.evaluate(
        """() => {
          const editor = window.LoupeBoxes.create({
            canvas: document.createElement("canvas"), width: 100, height: 50,
            boxes: [{ frame: 0, label: "hand", x: 90.4, y: 2, w: 8, h: 40 }],
          });
          const key = (key, mods = {}) => editor.handleKey(new KeyboardEvent("keydown", { key, ...mods }));
          const times = (n, name, mods) => { for (let i = 0; i < n; i++) key(name, mods); return editor.result()[0]; };
          const big = { shiftKey: true };
          const bigResize = { shiftKey: true, altKey: true };
          const seen = {};
          seen.arrowWithoutSelection = key("ArrowRight");
          seen.select = key("]");
          seen.right = times(1, "ArrowRight", big);
          seen.up = times(1, "ArrowUp", big);
          seen.down = times(3, "ArrowDown", big);
          seen.left = times(12, "ArrowLeft", big);
          seen.grow = times(11, "ArrowRight", bigResize);
          seen.growDown = times(1, "ArrowDown", bigResize);
          seen.shrink = times(20, "ArrowLeft", bigResize);
          seen.ctrl = key("ArrowLeft", { ctrlKey: true });
          seen.meta = key("]", { metaKey: true });
          seen.other = key("t");
          seen.escape = key("Escape");
          seen.escapeAgain = key("Escape");
          key("]");
          editor.frame = 1; // a box selected on another frame is not edited
          editor.frame = 0;
          seen.afterFrameChange = key("ArrowRight");
          seen.added = key("a") && editor.result()[1];
          return seen;
        }"""
    )
    box = {"frame": 0, "label": "hand"}
    assert outcome["arrowWithoutSelection"] is False
    assert outcome["select"] is True
    assert outcome["right"] == box | {"x": 92, "y": 2, "w": 8, "h": 40}
    assert outcome["up"] == box | {"x": 92, "y": 0, "w": 8, "h": 40}
    assert outcome["down"] == box | {"x": 92, "y": 10, "w": 8, "h": 40}
    assert outcome["left"] == box | {"x": 0, "y": 10, "w": 8, "h": 40}
    assert outcome["grow"] == box | {"x": 0, "y": 10, "w": 100, "h": 40}
    assert outcome["growDown"] == box | {"x": 0, "y": 10, "w": 100, "h": 40}
    assert outcome["shrink"] == box | {"x": 0, "y": 10, "w": 1, "h": 40}
    assert outcome["ctrl"] is False
    assert outcome["meta"] is False
    assert outcome["other"] is False
    assert outcome["escape"] is True
    assert outcome["escapeAgain"] is False
    assert outcome["afterFrameChange"] is False
    assert outcome["added"] == box | {"x": 44, "y": 19, "w": 13, "h": 13}
    assert_clean(page)


def test_the_snippet_help_lists_the_box_keys(page, alice, snippet_task):
    task, _ = snippet_task
    open_snippet(page, alice, task)
    press(page, "?")
    help_list = page.locator("#wb-help")
    expect(help_list).to_be_visible()
    for text in ["Add a box", "Select the previous / next box", "Move the selected box", "Resize the selected box"]:
        expect(help_list).to_contain_text(text)
    press(page, "Escape")
    expect(help_list).to_be_hidden()
    assert_clean(page)


def test_a_destroyed_box_editor_stops_listening_to_the_window(page, alice, snippet_task):
    task, _ = snippet_task
    open_snippet(page, alice, task)
    boxes = page.evaluate(
        """() => {
          const canvas = document.createElement("canvas");
          canvas.width = 100;
          canvas.height = 50;
          document.body.append(canvas);
          const editor = window.LoupeBoxes.create({ canvas, width: 100, height: 50 });
          const rect = canvas.getBoundingClientRect();
          const at = (x, y) => ({ clientX: rect.left + x, clientY: rect.top + y, button: 0, bubbles: true });
          canvas.dispatchEvent(new MouseEvent("mousedown", at(10, 10)));
          editor.destroy();
          window.dispatchEvent(new MouseEvent("mousemove", at(60, 40)));
          window.dispatchEvent(new MouseEvent("mouseup", at(60, 40)));
          canvas.remove();
          return editor.all().map(({ w, h }) => [w, h]);
        }"""
    )
    assert boxes == [[0, 0]]  # the drag was neither followed nor finished
    assert_clean(page)


def test_submit_before_the_action_points_at_it_and_the_next_submits_what_was_picked(page, alice, snippet_task):
    """Ctrl+Enter with no action says to pick one, without focusing a button: `n` then
    Ctrl+Enter submits "none", not a click on a focused Take. Enter alone never submits a
    clip (on the visit screen it confirms one event)."""
    task, _ = snippet_task
    open_snippet(page, alice, task)
    press(page, "Control+Enter")
    expect(page.locator("#wb-status")).to_contain_text("Pick the action first")
    expect(page.locator("#wb-actions")).to_have_class("seg wide needed")
    assert page.evaluate("document.activeElement.dataset.act") != "set-action"
    press(page, "n")
    expect(page.locator("#wb-status")).to_contain_text("Action: none")
    expect(page.locator("#wb-actions")).not_to_have_class("seg wide needed")
    press(page, "Enter")
    page.wait_for_timeout(300)
    assert not Annotation.objects.filter(task=task).exists()
    press(page, "Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    assert Annotation.objects.get(task=task).result["action"] == "none"
    assert_clean(page)
