"""Tracks (annotator/tracks.py): the interpolation rule on the cases the JavaScript rule
(static/js/workbench/tracks.js) is fed too (tests/test_tracks_js.py), and model predictions
grouped into tracks."""

import json
from pathlib import Path

import pytest

from annotator.tracks import expand, track_boxes, tracks_from_predictions

CASES = json.loads((Path(__file__).parent / "track_cases.json").read_text())


def as_lists(boxes: dict) -> dict[str, list[int]]:
    return {str(frame): [b["x"], b["y"], b["w"], b["h"]] for frame, b in boxes.items()}


def test_the_cases_file_names_each_case_once():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_expand_gives_each_case_its_boxes(case):
    assert as_lists(expand({"keyframes": case["keyframes"]}, case["frame_count"])) == case["boxes"]


def test_track_boxes_are_one_box_per_frame_with_the_tracks_label():
    tracks = [
        {"label": "hand", "keyframes": [{"frame": 0, "x": 0, "y": 0, "w": 2, "h": 2, "outside": False}]},
        {"label": "product", "keyframes": [{"frame": 1, "x": 4, "y": 4, "w": 2, "h": 2, "outside": True}]},
    ]
    assert track_boxes(tracks, 2) == [
        {"frame": 0, "label": "hand", "x": 0, "y": 0, "w": 2, "h": 2},
        {"frame": 1, "label": "hand", "x": 0, "y": 0, "w": 2, "h": 2},
    ]


def box(frame, label, x, y=10, w=20, h=20, **extra):
    return {"frame": frame, "label": label, "x": x, "y": y, "w": w, "h": h, **extra}


def test_a_label_boxed_on_consecutive_frames_becomes_a_track_that_ends_after_the_run():
    predicted = [box(2, "hand", 0), box(3, "hand", 10), box(4, "hand", 20), box(5, "hand", 35), box(9, "hand", 0)]
    tracks, single = tracks_from_predictions(predicted, 12)
    assert single == [box(9, "hand", 0)]
    (track,) = tracks
    assert track["label"] == "hand"
    # frame 3 lies on the straight path from 2 to 4: the interpolation gives it back.
    assert [(k["frame"], k["x"], k["outside"]) for k in track["keyframes"]] == [
        (2, 0, False),
        (4, 20, False),
        (5, 35, False),
        (6, 35, True),
    ]
    assert {f: b["x"] for f, b in expand(track, 12).items()} == {2: 0, 3: 10, 4: 20, 5: 35}


def test_a_run_to_the_clips_end_needs_no_outside_keyframe_and_labels_are_tracked_apart():
    predicted = [box(0, "hand", 0), box(1, "product", 5), box(1, "hand", 1)]
    tracks, single = tracks_from_predictions(predicted, 2)
    assert single == [box(1, "product", 5)]
    assert tracks == [
        {
            "label": "hand",
            "keyframes": [
                {"frame": 0, "x": 0, "y": 10, "w": 20, "h": 20, "outside": False},
                {"frame": 1, "x": 1, "y": 10, "w": 20, "h": 20, "outside": False},
            ],
        }
    ]


def test_two_boxes_of_one_label_on_a_frame_stay_single_boxes():
    predicted = [box(0, "hand", 0), box(1, "hand", 0), box(1, "hand", 50), box(2, "hand", 0)]
    tracks, single = tracks_from_predictions(predicted, 3)
    assert tracks == []
    assert single == predicted
