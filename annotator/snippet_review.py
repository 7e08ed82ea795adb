"""What a supervisor sees when reviewing a snippet annotation: the clip, the associate's action
and product against the model's, and the boxes drawn over the clip, frame by frame (the
associate's and the model's, as SVG over the clip's poster). Registered as the
`snippet_annotation` kind's `review_context`; `compare` tells a rejected associate what the
next answer changed."""

from dataclasses import dataclass, field

from django.urls import reverse

from annotator.models import Snippet
from catalog.selectors import ProductCard, product_cards, unknown_card

# Frames drawn on the page; the rest are counted.
MAX_FRAMES = 24


@dataclass(frozen=True)
class FrameBoxes:
    frame: int
    human: list[dict] = field(default_factory=list)
    model: list[dict] = field(default_factory=list)


def _boxes(result) -> list[dict]:
    boxes = result.get("boxes") if isinstance(result, dict) else None
    return [b for b in boxes or [] if isinstance(b, dict) and all(isinstance(b.get(k), int) for k in "xywh")]


def _model_boxes(predictions) -> list[dict]:
    out = []
    for p in predictions or []:
        box = p.get("box") if isinstance(p, dict) else None
        if isinstance(box, list) and len(box) == 4 and isinstance(p.get("frame"), int):
            x, y, w, h = (round(v) for v in box)
            out.append({"frame": p["frame"], "label": p.get("label", ""), "x": x, "y": y, "w": w, "h": h})
    return out


def snippet_review_context(task, annotation, user) -> dict:
    snippet = (
        Snippet.objects.only("pk", "store_id", "width", "height", "fps", "frame_count", "predictions")
        .filter(pk=task.subject_id, store_id=task.store_id)
        .first()
    )
    result = annotation.result if isinstance(annotation.result, dict) else {}
    predictions = (task.payload or {}).get("predictions") or (snippet.predictions if snippet else [])
    model = _model_boxes(predictions)
    human = _boxes(result)
    frames: dict[int, FrameBoxes] = {}
    for box in human:
        frames.setdefault(box["frame"], FrameBoxes(box["frame"])).human.append(box)
    for box in model:
        frames.setdefault(box["frame"], FrameBoxes(box["frame"])).model.append(box)
    ordered = [frames[n] for n in sorted(frames)]
    best: dict[str, float] = {}
    for p in predictions or []:
        if isinstance(p, dict) and isinstance(p.get("sku"), str):
            best[p["sku"]] = max(best.get(p["sku"], 0.0), float(p.get("score") or 0.0))
    model_sku = max(best, key=best.get) if best else None
    cards = product_cards(store_id=task.store_id, skus={result.get("sku"), model_sku})

    def card(sku) -> ProductCard | None:
        return (cards.get(sku) or unknown_card(str(sku))) if sku else None

    return {
        "snippet": snippet,
        "video_url": reverse("annotator:snippet_video", args=[snippet.pk]) if snippet else "",
        "poster_url": reverse("annotator:snippet_poster", args=[snippet.pk]) if snippet else "",
        "clip": {
            "width": snippet.width if snippet else 640,
            "height": snippet.height if snippet else 480,
            "fps": (snippet.fps if snippet else 0) or 15.0,
        },
        "action": result.get("action"),
        "product": card(result.get("sku")),
        "model_product": card(model_sku),
        "frames": ordered[:MAX_FRAMES],
        "frames_hidden": max(0, len(ordered) - MAX_FRAMES),
        "box_counts": {"human": len(human), "model": len(model)},
    }


def snippet_compare(task, rejected: dict, later: dict) -> list[str]:
    rejected = rejected if isinstance(rejected, dict) else {}
    later = later if isinstance(later, dict) else {}
    lines = []
    if rejected.get("action") != later.get("action"):
        lines.append(f"Action: {rejected.get('action')} → {later.get('action')}")
    if rejected.get("sku") != later.get("sku"):
        cards = product_cards(store_id=task.store_id, skus={rejected.get("sku"), later.get("sku")})
        names = [cards[s].name if s in cards else (s or "none") for s in (rejected.get("sku"), later.get("sku"))]
        lines.append(f"Product: {names[0]} → {names[1]}")
    before, after = len(_boxes(rejected)), len(_boxes(later))
    if before != after:
        lines.append(f"Boxes: {before} → {after}")
    return lines or ["Same action and product; the boxes were redrawn."]
