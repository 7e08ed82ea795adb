"""Snippet tracks (API.md, contract v1.1): one box followed across frames, stored as its
keyframes only. The rule that turns keyframes into a box per frame lives here and, line for
line, in static/js/workbench/tracks.js; tests/annotator/track_cases.json feeds both.

The rule, for a track's keyframes (strictly increasing frames) and a clip of `frame_count`:
- before the first keyframe the track does not exist;
- on a keyframe: its box, or nothing if it is `outside`;
- after an `outside` keyframe: nothing until the next keyframe;
- between two keyframes that are both inside: linear interpolation of the box's corners
  (left, top, right, bottom), each rounded half up (floor(v + 1/2), in integer arithmetic so
  both languages agree exactly); w and h are the rounded right minus left, bottom minus top,
  so a box inside the frame at both keyframes stays inside it, at least 1 px wide;
- between an inside keyframe and an `outside` one: the inside box, unchanged;
- after the last keyframe, if it is inside: that box, unchanged, to the clip's last frame
  (what CVAT does: a track ends only where it is marked outside).
"""

from collections.abc import Iterable
from typing import Any

Box = dict[str, int]  # {"x", "y", "w", "h"}


def _lerp(a: int, b: int, num: int, den: int) -> int:
    """a + (b - a) * num / den rounded half up, exactly."""
    return a + (2 * (b - a) * num + den) // (2 * den)


def _between(a: dict, b: dict, frame: int) -> Box:
    num, den = frame - a["frame"], b["frame"] - a["frame"]
    left = _lerp(a["x"], b["x"], num, den)
    top = _lerp(a["y"], b["y"], num, den)
    right = _lerp(a["x"] + a["w"], b["x"] + b["w"], num, den)
    bottom = _lerp(a["y"] + a["h"], b["y"] + b["h"], num, den)
    return {"x": left, "y": top, "w": right - left, "h": bottom - top}


def _box(keyframe: dict) -> Box:
    return {"x": keyframe["x"], "y": keyframe["y"], "w": keyframe["w"], "h": keyframe["h"]}


def expand(track: dict, frame_count: int) -> dict[int, Box]:
    """{frame: box} for every frame of the clip the track is in (see the module's rule).
    `track["keyframes"]` must be validated: frames strictly increasing, inside the clip."""
    keyframes = track["keyframes"]
    boxes: dict[int, Box] = {}
    for index, key in enumerate(keyframes):
        if key.get("outside"):
            continue
        following = keyframes[index + 1] if index + 1 < len(keyframes) else None
        end = following["frame"] if following is not None else frame_count
        boxes[key["frame"]] = _box(key)
        for frame in range(key["frame"] + 1, min(end, frame_count)):
            if following is None or following.get("outside"):
                boxes[frame] = _box(key)
            else:
                boxes[frame] = _between(key, following, frame)
    return boxes


def track_boxes(tracks: Iterable[dict], frame_count: int) -> list[dict]:
    """Every track as single-frame boxes (`{"frame", "label", "x", "y", "w", "h"}`), in
    track then frame order: what exports write for a track."""
    rows = []
    for track in tracks:
        for frame, box in expand(track, frame_count).items():
            rows.append({"frame": frame, "label": track["label"], **box})
    return rows


def _runs(frames: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][-1] + 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return runs


_MAX_GAP = 10  # frames between kept keyframes: bounds the work (re-checks per step), keeps tracks editable


def _simplified(keyframes: list[dict]) -> list[dict]:
    """Drop the keyframes the rule gives back anyway (a box on a straight path), greedily
    from the first: a keyframe goes when the interpolation between the last one kept and
    the next one gives back it and every keyframe dropped since. (On corner tuples: this
    runs at every render of a screen whose model boxed each of hundreds of frames.)"""
    corners = [(k["frame"], k["x"], k["y"], k["x"] + k["w"], k["y"] + k["h"]) for k in keyframes]

    def on_segment(a: tuple, b: tuple, p: tuple) -> bool:  # _lerp on each corner, inlined
        num, den = p[0] - a[0], b[0] - a[0]
        half, twice = den, 2 * den
        return (
            a[1] + (2 * (b[1] - a[1]) * num + half) // twice == p[1]
            and a[2] + (2 * (b[2] - a[2]) * num + half) // twice == p[2]
            and a[3] + (2 * (b[3] - a[3]) * num + half) // twice == p[3]
            and a[4] + (2 * (b[4] - a[4]) * num + half) // twice == p[4]
        )

    kept = [0]
    dropped: list[int] = []
    for index in range(1, len(keyframes) - 1):
        anchor, following = corners[kept[-1]], corners[index + 1]
        if (
            following[0] - anchor[0] <= _MAX_GAP
            and on_segment(anchor, following, corners[index])
            and all(on_segment(anchor, following, corners[d]) for d in dropped)
        ):
            dropped.append(index)
        else:
            kept.append(index)
            dropped = []
    if len(keyframes) > 1:
        kept.append(len(keyframes) - 1)
    return [keyframes[i] for i in kept]


def tracks_from_predictions(boxes: list[dict], frame_count: int) -> tuple[list[dict], list[dict]]:
    """The model's boxes (`{"frame", "label", "x", "y", "w", "h", ...}`) as (tracks, boxes
    left single): where one label has exactly one box on each of two or more consecutive
    frames, those boxes become one track (keyframes the interpolation would not give back,
    and an `outside` keyframe after the run when the clip goes on); the rest stay boxes."""
    by_label: dict[Any, dict[int, list[dict]]] = {}
    for box in boxes:
        by_label.setdefault(box["label"], {}).setdefault(box["frame"], []).append(box)
    tracks: list[dict] = []
    tracked: set[int] = set()
    for label, frames in by_label.items():
        single = sorted(frame for frame, on in frames.items() if len(on) == 1)
        for run in _runs(single):
            if len(run) < 2:
                continue
            keyframes = [{"frame": f, **_box(frames[f][0]), "outside": False} for f in run]
            keyframes = _simplified(keyframes)
            if run[-1] + 1 < frame_count:
                keyframes.append({"frame": run[-1] + 1, **_box(frames[run[-1]][0]), "outside": True})
            tracks.append({"label": label, "keyframes": keyframes})
            tracked.update(id(frames[f][0]) for f in run)
    return tracks, [box for box in boxes if id(box) not in tracked]
