"""The `snippet_annotation` task kind: label what happens in one video snippet."""

from typing import Any

from annotator import kinds
from annotator.models import Label, Snippet
from annotator.results import as_choice, as_int, as_list, as_object, as_sku, invalid
from annotator.services.labels import LabelIn, label_record

SNIPPET_ANNOTATION = "snippet_annotation"
ACTIONS = ("take", "put_back", "none", "unsure")
BOX_LABELS = ("hand", "product")
MAX_BOXES = 5000


def _clip_geometry(task) -> tuple[int, int, int]:
    payload = task.payload or {}
    if all(isinstance(payload.get(key), int) for key in ("width", "height", "frame_count")):
        return payload["width"], payload["height"], payload["frame_count"]
    snippet = Snippet.objects.only("width", "height", "frame_count").get(pk=task.subject_id)
    return snippet.width, snippet.height, snippet.frame_count


def validate_result(task, result: Any) -> dict:
    """`{"action", "sku" (unless action is none), "boxes": [{"frame", "label", "x", "y", "w", "h"}]}`,
    boxes in clip pixels and inside the frame (API.md)."""
    result = as_object(result, "", ("action", "sku", "boxes"))
    action = as_choice(result, "action", "", ACTIONS)
    cleaned: dict = {"action": action, "sku": None}
    if action != "none" or result.get("sku") not in (None, ""):
        cleaned["sku"] = as_sku(result, "sku", "", store_id=task.store_id)
    width, height, frame_count = _clip_geometry(task)
    boxes = []
    for index, raw in enumerate(as_list(result, "boxes", "", max_items=MAX_BOXES, required=False)):
        path = f"boxes[{index}]"
        box = as_object(raw, path, ("frame", "label", "x", "y", "w", "h"))
        frame = as_int(box, "frame", path, minimum=0, maximum=frame_count - 1)
        label = as_choice(box, "label", path, BOX_LABELS)
        x = as_int(box, "x", path, minimum=0, maximum=width - 1)
        y = as_int(box, "y", path, minimum=0, maximum=height - 1)
        w = as_int(box, "w", path, minimum=1)
        h = as_int(box, "h", path, minimum=1)
        if x + w > width:
            raise invalid(f"{path}.w", f"The box leaves the frame ({width} px wide).")
        if y + h > height:
            raise invalid(f"{path}.h", f"The box leaves the frame ({height} px high).")
        boxes.append({"frame": frame, "label": label, "x": x, "y": y, "w": w, "h": h})
    cleaned["boxes"] = boxes
    return cleaned


def on_submit(task, annotation) -> None:
    """Runs in the submit transaction: every snippet annotation becomes a training label."""
    row = Snippet.objects.filter(pk=task.subject_id).values_list("pk", "predictions").first()
    snippet_id, predictions = row if row is not None else (None, (task.payload or {}).get("predictions"))
    label = LabelIn(
        kind=Label.Kind.SNIPPET,
        verdict="annotated",
        predicted=predictions,
        human=annotation.result,
        snippet_id=snippet_id,
    )
    label_record(task=task, annotation=annotation, items=[label])


def register() -> None:
    kinds.register(
        kinds.TaskKind(
            name=SNIPPET_ANNOTATION,
            label="Snippet annotation",
            validate_result=validate_result,
            on_submit=on_submit,
            template="annotator/snippet_task.html",
        )
    )
