"""The `snippet_annotation` task kind: label what happens in one video snippet."""

import json
from typing import Any

from django.urls import reverse

from annotator import kinds
from annotator.gold_snippet import gold_snippet_answer
from annotator.models import Label, Snippet
from annotator.results import as_choice, as_int, as_list, as_object, as_sku, invalid
from annotator.services.consensus import ADJUDICATION, adjudication_label, consensus_merge, frame_boxes
from annotator.services.gold import gold_for
from annotator.services.labels import LabelIn, label_record
from annotator.snippet_review import snippet_compare, snippet_review_context
from annotator.tracks import tracks_from_predictions
from catalog.selectors import product_cards

SNIPPET_ANNOTATION = "snippet_annotation"
ACTIONS = ("take", "put_back", "none", "unsure")
BOX_LABELS = ("hand", "product")
MAX_BOXES = 5000
MAX_TRACKS = 500
MAX_KEYFRAMES = 5000  # per track; strictly increasing frames bound it by the clip anyway


def _clip_geometry(task) -> tuple[int, int, int]:
    payload = task.payload or {}
    if all(isinstance(payload.get(key), int) for key in ("width", "height", "frame_count")):
        return payload["width"], payload["height"], payload["frame_count"]
    snippet = Snippet.objects.only("width", "height", "frame_count").get(pk=task.subject_id)
    return snippet.width, snippet.height, snippet.frame_count


def _geometry(raw: dict, path: str, *, width: int, height: int, frame_count: int) -> dict:
    """A box's frame and pixels: inside the clip and inside the frame."""
    frame = as_int(raw, "frame", path, minimum=0, maximum=frame_count - 1)
    x = as_int(raw, "x", path, minimum=0, maximum=width - 1)
    y = as_int(raw, "y", path, minimum=0, maximum=height - 1)
    w = as_int(raw, "w", path, minimum=1)
    h = as_int(raw, "h", path, minimum=1)
    if x + w > width:
        raise invalid(f"{path}.w", f"The box leaves the frame ({width} px wide).")
    if y + h > height:
        raise invalid(f"{path}.h", f"The box leaves the frame ({height} px high).")
    return {"frame": frame, "x": x, "y": y, "w": w, "h": h}


def _tracks(result: dict, *, width: int, height: int, frame_count: int) -> list[dict]:
    """`tracks: [{"label", "keyframes": [{"frame", "x", "y", "w", "h", "outside"}]}]`: at least
    one keyframe each, frames strictly increasing (annotator.tracks interpolates between)."""
    tracks = []
    for index, raw in enumerate(as_list(result, "tracks", "", max_items=MAX_TRACKS, required=False)):
        path = f"tracks[{index}]"
        track = as_object(raw, path, ("label", "keyframes"))
        label = as_choice(track, "label", path, BOX_LABELS)
        raw_keyframes = as_list(track, "keyframes", path, max_items=MAX_KEYFRAMES)
        if not raw_keyframes:
            raise invalid(f"{path}.keyframes", "A track needs at least one keyframe.")
        keyframes: list[dict] = []
        for number, raw_key in enumerate(raw_keyframes):
            key_path = f"{path}.keyframes[{number}]"
            key = as_object(raw_key, key_path, ("frame", "x", "y", "w", "h", "outside"))
            cleaned = _geometry(key, key_path, width=width, height=height, frame_count=frame_count)
            outside = key.get("outside", False)
            if not isinstance(outside, bool):
                raise invalid(f"{key_path}.outside", "Expected true or false.")
            if keyframes and cleaned["frame"] <= keyframes[-1]["frame"]:
                raise invalid(f"{key_path}.frame", "Keyframes must be in strictly increasing frame order.")
            keyframes.append(cleaned | {"outside": outside})
        tracks.append({"label": label, "keyframes": keyframes})
    return tracks


def validate_result(task, result: Any) -> dict:
    """`{"action", "sku" (unless action is none), "boxes": [{"frame", "label", "x", "y", "w", "h"}],
    "tracks" (optional): [{"label", "keyframes": [...]}]}`, boxes and keyframes in clip pixels,
    inside the frame and the clip (API.md, contract v1.1 "Snippet tracks")."""
    result = as_object(result, "", ("action", "sku", "boxes", "tracks"))
    action = as_choice(result, "action", "", ACTIONS)
    if action == "unsure" and task.purpose == ADJUDICATION:
        raise invalid("action", "An adjudication is decided here: not unsure.")
    cleaned: dict = {"action": action, "sku": None}
    if action != "none" or result.get("sku") not in (None, ""):
        cleaned["sku"] = as_sku(result, "sku", "", store_id=task.store_id)
    width, height, frame_count = _clip_geometry(task)
    boxes = []
    for index, raw in enumerate(as_list(result, "boxes", "", max_items=MAX_BOXES, required=False)):
        path = f"boxes[{index}]"
        box = as_object(raw, path, ("frame", "label", "x", "y", "w", "h"))
        as_int(box, "frame", path, minimum=0, maximum=frame_count - 1)  # checked first, as ever
        label = as_choice(box, "label", path, BOX_LABELS)
        geometry = _geometry(box, path, width=width, height=height, frame_count=frame_count)
        boxes.append({"frame": geometry.pop("frame"), "label": label, **geometry})
    cleaned["boxes"] = boxes
    if "tracks" in result:  # results without tracks stay as they were (v1)
        cleaned["tracks"] = _tracks(result, width=width, height=height, frame_count=frame_count)
    return cleaned


def _label(snippet_id, predictions, result) -> LabelIn:
    return LabelIn(
        kind=Label.Kind.SNIPPET,
        verdict="annotated",
        predicted=predictions,
        human=result,
        snippet_id=snippet_id,
    )


def _payload_labels(task, result: dict) -> list[LabelIn] | None:
    """The training label of a submit: the snippet and its predictions are those the task
    was made from (its payload, written at enqueue; snippets are never deleted), so no read
    is needed. None for a task enqueued without them (on_submit reads the snippet)."""
    payload = task.payload or {}
    if "snippet" not in payload:
        return None
    return [_label(payload["snippet"], payload.get("predictions"), result)]


def on_submit(task, annotation) -> None:
    """Runs in the submit transaction: a snippet annotation becomes a training label
    (`_payload_labels`; for a task enqueued by other means, the snippet's predictions). A
    gold snippet's answer is scored instead, and makes no label. With overlap N > 1 the
    answers write none: the N-th one merges them, or opens their adjudication, whose answer
    is the label (annotator.services.consensus)."""
    gold = gold_for(task)
    if gold is not None:
        gold_snippet_answer(task=task, gold=gold, annotation=annotation)
        return
    if task.adjudicates_id is not None:
        adjudication_label(task=task, annotation=annotation, frame_count=_clip_geometry(task)[2])
        return
    if task.overlap > 1:
        if task.status == task.Status.DONE:
            consensus_merge(task=task, annotation=annotation, frame_count=_clip_geometry(task)[2])
        return
    labels = _payload_labels(task, annotation.result)
    if labels is None:
        payload = task.payload or {}
        row = Snippet.objects.filter(pk=task.subject_id).values_list("pk", "predictions").first()
        snippet_id, predictions = row if row is not None else (None, payload.get("predictions"))
        labels = [_label(snippet_id, predictions, annotation.result)]
    label_record(task=task, annotation=annotation, items=labels)


def _answers_shown(task, frame_count: int) -> list[dict]:
    """An adjudication's N answers as its screen shows them side by side: who, what, and each
    one's boxes per frame (tracks expanded), numbered 1..N (the colour of each is CSS's)."""
    shown = (task.payload or {}).get(ADJUDICATION) or {}
    answers = []
    for n, answer in enumerate(shown.get("answers") or [], 1):
        result = answer.get("result") or {}
        answers.append(
            {
                "n": n,
                "username": answer.get("username") or f"associate {answer.get('associate')}",
                "action": result.get("action"),
                "sku": result.get("sku"),
                "boxes": frame_boxes(result, frame_count),
            }
        )
    return answers


def task_context(task, user) -> dict:
    """The snippet screen's context: the clip, the model's boxes (pre-filled, clip pixels;
    a label boxed on consecutive frames as a track) and its products as candidates, best
    score first."""
    snippet = Snippet.objects.only("pk", "store_id", "width", "height", "fps", "frame_count", "predictions").get(
        pk=task.subject_id, store_id=task.store_id
    )
    predictions = [p for p in (task.payload or {}).get("predictions") or snippet.predictions if isinstance(p, dict)]
    boxes = [
        {"frame": p["frame"], "label": p["label"], "x": x, "y": y, "w": w, "h": h, "score": p.get("score")}
        for p in predictions
        if p.get("label") in BOX_LABELS and isinstance(p.get("box"), list) and len(p["box"]) == 4
        for x, y, w, h in [[round(v) for v in p["box"]]]
    ]
    tracks, boxes = tracks_from_predictions(boxes, snippet.frame_count)
    best: dict[str, float] = {}
    for p in predictions:
        if isinstance(p.get("sku"), str):
            best[p["sku"]] = max(best.get(p["sku"], 0.0), float(p.get("score") or 0.0))
    answers = _answers_shown(task, snippet.frame_count) if task.adjudicates_id else []
    said = {answer["sku"] for answer in answers if isinstance(answer["sku"], str)}
    cards = product_cards(store_id=task.store_id, skus=set(best) | said)
    for answer in answers:
        answer["product"] = cards.get(answer["sku"]) if isinstance(answer["sku"], str) else None
    ranked = sorted((sku for sku in best if sku in cards), key=lambda sku: -best[sku])[:9]
    return {
        "snippet": snippet,
        "video_url": reverse("annotator:snippet_video", args=[snippet.pk]),
        "poster_url": reverse("annotator:snippet_poster", args=[snippet.pk]),
        "clip": {"width": snippet.width, "height": snippet.height, "fps": snippet.fps or 15.0},
        "predicted_boxes_json": json.dumps(boxes),
        "predicted_tracks_json": json.dumps(tracks),
        "candidates": [{"key": n, "product": cards[sku], "score": best[sku]} for n, sku in enumerate(ranked, 1)],
        "predicted_product": cards[ranked[0]] if ranked else None,
        # An adjudication decides: "unsure" is no answer there.
        "actions": [a for a in ACTIONS if a != "unsure"] if task.adjudicates_id else ACTIONS,
        "adjudication": answers,
        "adjudication_json": json.dumps([{k: a[k] for k in ("n", "username", "boxes")} for a in answers]),
        "disputed": ((task.payload or {}).get(ADJUDICATION) or {}).get("disputed") or [],
    }


def register() -> None:
    kinds.register(
        kinds.TaskKind(
            name=SNIPPET_ANNOTATION,
            label="Snippet annotation",
            validate_result=validate_result,
            on_submit=on_submit,
            template="annotator/snippet_task.html",
            context=task_context,
            review_template="annotator/supervise/_snippet_review.html",
            review_context=snippet_review_context,
            compare=snippet_compare,
        )
    )
