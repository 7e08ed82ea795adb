"""Tracks on the snippet screen in a real browser: a track drawn by mouse, adjusted on
another frame (a keyframe), read back interpolated in clip pixels on a frame between, ended
(outside), copied forward, relabelled, undone and redone, submitted; zoom that keeps boxes
in clip pixels."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.browser.conftest import assert_clean, screenshot
from tests.browser.workbench import open_snippet, press, snippet_task_with_model_boxes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH, HEIGHT = 1280, 720  # the clip: 15 frames


@pytest.fixture
def snippet_task(s001, alice):
    return snippet_task_with_model_boxes(s001, alice, "track-clip", width=WIDTH, height=HEIGHT)


def drag(page, start, end, steps: int = 6) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def at_frame(page, frame: int) -> None:
    expect(page.locator("#wb-frame")).to_have_text(str(frame))
    expect(page.locator("#wb-box-frame")).to_have_text(str(frame))


def tracks(page) -> list[dict]:
    return page.evaluate("() => window.LoupeWorkbench.screen.editor.tracks()")


def views(page) -> list[dict]:
    """What the editor shows on the frame shown, tracks only, in clip pixels."""
    return page.evaluate(
        """() => window.LoupeWorkbench.screen.editor.onFrame().filter((b) => b.kind === "track")
             .map(({ label, x, y, w, h, keyframe }) => ({ label, x, y, w, h, keyframe }))"""
    )


def test_a_track_drawn_keyframed_ended_copied_relabelled_undone_and_submitted(page, alice, snippet_task):
    task, _ = snippet_task
    open_snippet(page, alice, task)
    canvas = page.locator("#wb-canvas").bounding_box()
    sx, sy = WIDTH / canvas["width"], HEIGHT / canvas["height"]
    assert sx > 1.3, "the player must be shown smaller than the clip"
    x0, y0 = canvas["x"], canvas["y"]

    press(page, "r")  # new boxes are tracks
    expect(page.locator("[data-act=mode][data-value=track]")).to_have_attribute("aria-pressed", "true")
    drag(page, (x0 + 100, y0 + 80), (x0 + 200, y0 + 180))
    (first,) = tracks(page)
    (start,) = first["keyframes"]
    assert first["label"] == "hand" and start["frame"] == 0 and not start["outside"]
    for key, value in {"x": 100 * sx, "y": 80 * sy, "w": 100 * sx, "h": 100 * sy}.items():
        assert abs(start[key] - value) <= 2, (key, start)
    expect(page.locator("#wb-box-list li.track.keyframe.on")).to_have_count(1)

    # Frame 4: the track is there (held), still selected; moved by keys, it gets a keyframe.
    press(page, ".", 4)
    at_frame(page, 4)
    expect(page.locator("#wb-box-list li.track.interpolated.on")).to_have_count(1)
    press(page, "Shift+ArrowRight", 4)  # +40 clip px
    press(page, "Shift+ArrowDown", 2)  # +20
    end = start | {"frame": 4, "x": start["x"] + 40, "y": start["y"] + 20}
    assert tracks(page)[0]["keyframes"] == [start, end]
    expect(page.locator("#wb-box-list li.track.keyframe")).to_have_count(1)

    # Frame 1, between the keyframes: interpolated, in clip pixels, drawn as such.
    press(page, ",", 3)
    at_frame(page, 1)
    between = {"x": start["x"] + 10, "y": start["y"] + 5, "w": start["w"], "h": start["h"]}
    assert views(page) == [{"label": "hand", **between, "keyframe": False}]
    expect(page.locator("#wb-box-list li.track.interpolated")).to_contain_text("interpolated")
    screenshot(page, "workbench-track-interpolated")

    # Frame 6: the track ends (outside), and is gone from there on.
    press(page, ".", 5)
    at_frame(page, 6)
    page.locator("#wb-box-list li.track [data-act=select-box]").click()  # the model's boxes are here too
    press(page, "o")
    assert views(page) == []
    expect(page.locator("#wb-box-list li.track.outside")).to_contain_text("ends here")
    press(page, ".")
    at_frame(page, 7)
    assert views(page) == []

    # Copy forward from frame 4 to 5, then relabel the whole track.
    page.locator("#wb-box-frames [data-act=seek][data-frame='4']").click()
    at_frame(page, 4)
    press(page, "]")
    press(page, "f")
    at_frame(page, 5)
    assert [k["frame"] for k in tracks(page)[0]["keyframes"]] == [0, 4, 5, 6]
    assert tracks(page)[0]["keyframes"][2] == end | {"frame": 5}
    press(page, "b")  # the selected track becomes a product track
    assert tracks(page)[0]["label"] == "product"
    expect(page.locator("[data-act=label][data-value=product]")).to_have_attribute("aria-pressed", "true")

    # Undo the relabel and the copy; redo both.
    press(page, "Control+z")
    assert tracks(page)[0]["label"] == "hand"
    press(page, "Control+z")
    assert [k["frame"] for k in tracks(page)[0]["keyframes"]] == [0, 4, 6]
    press(page, "Control+Shift+z")
    press(page, "Control+Shift+z")
    assert tracks(page)[0]["label"] == "product"
    assert [k["frame"] for k in tracks(page)[0]["keyframes"]] == [0, 4, 5, 6]
    press(page, "Control+Shift+z")  # nothing left to redo
    expected = tracks(page)

    press(page, "t")
    press(page, "Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    result = Annotation.objects.get(task=task).result
    assert result["action"] == "take"
    assert result["tracks"] == expected
    assert [k["outside"] for k in result["tracks"][0]["keyframes"]] == [False, False, False, True]
    assert_clean(page)


def test_deleting_a_keyframe_then_the_track_and_undoing_the_action(page, alice, snippet_task):
    task, _ = snippet_task
    open_snippet(page, alice, task)
    press(page, "r")
    press(page, "a")  # a track keyframed on frame 0, in the middle of the frame
    press(page, ".", 2)
    at_frame(page, 2)
    press(page, "ArrowLeft")
    assert [k["frame"] for k in tracks(page)[0]["keyframes"]] == [0, 2]
    press(page, "Delete")  # this frame's keyframe
    assert [k["frame"] for k in tracks(page)[0]["keyframes"]] == [0]
    press(page, "]")
    press(page, "Delete")  # interpolated here: nothing to delete but the whole track
    expect(page.locator("#wb-status")).to_contain_text("Shift+Delete")
    press(page, "Shift+Delete")
    assert tracks(page) == []
    press(page, "Control+z")
    assert len(tracks(page)) == 1

    press(page, "n")
    expect(page.locator("[data-act=set-action][data-value=none]")).to_have_attribute("aria-pressed", "true")
    press(page, "Control+z")  # the action is an edit too
    expect(page.locator("[data-act=set-action][data-value=none]")).to_have_attribute("aria-pressed", "false")
    press(page, "Control+Shift+z")
    expect(page.locator("[data-act=set-action][data-value=none]")).to_have_attribute("aria-pressed", "true")
    press(page, "Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    assert len(Annotation.objects.get(task=task).result["tracks"]) == 1
    assert_clean(page)


def test_zoomed_in_a_box_is_still_stored_in_clip_pixels(page, alice, snippet_task):
    task, _ = snippet_task
    open_snippet(page, alice, task)
    viewport = page.locator("#wb-player").bounding_box()
    before = page.evaluate("() => window.LoupeWorkbench.screen.editor.result()")
    press(page, "z", 3)  # 1.25³ ≈ 1.95×, around the centre
    expect(page.locator("#wb-player")).to_have_attribute("data-zoom", "1.95")
    canvas = page.locator("#wb-canvas").bounding_box()  # the scaled, shifted frame on screen
    sx, sy = WIDTH / canvas["width"], HEIGHT / canvas["height"]
    assert sx < WIDTH / viewport["width"] / 1.9
    # A box drawn inside the visible part of the zoomed frame.
    start = (viewport["x"] + 60, viewport["y"] + 50)
    end = (viewport["x"] + 260, viewport["y"] + 150)
    drag(page, start, end)
    expect(page.locator("#wb-box-list li.hand.on")).to_have_count(1)
    (box,) = [b for b in page.evaluate("() => window.LoupeWorkbench.screen.editor.result()") if b not in before]
    expected = {
        "x": (start[0] - canvas["x"]) * sx,
        "y": (start[1] - canvas["y"]) * sy,
        "w": (end[0] - start[0]) * sx,
        "h": (end[1] - start[1]) * sy,
    }
    for key, value in expected.items():
        assert abs(box[key] - value) <= 2, (key, box, expected)
    screenshot(page, "workbench-zoomed")
    page.mouse.move(viewport["x"] + 100, viewport["y"] + 100)
    page.mouse.wheel(0, 300)  # the wheel zooms out
    expect(page.locator("#wb-player")).not_to_have_attribute("data-zoom", "1.95")
    press(page, "0")
    expect(page.locator("#wb-player")).to_have_attribute("data-zoom", "1.00")
    assert page.locator("#wb-canvas").bounding_box()["width"] == pytest.approx(viewport["width"], abs=1)
    assert_clean(page)
