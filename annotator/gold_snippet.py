"""Gold snippets: a snippet whose action, product and boxes are known, made by a supervisor
from an annotation of it they trust, served and scored like any gold task
(`annotator.services.gold`).

One gold answer is one scored event: right when the action is the truth's (and so is the sku,
when the truth names one) and the boxes match one to one: each truth box has an answer box
of the same frame and label with IoU ≥ 0.5 (greedily, best IoU first), and no answer box is
left over. `unsure` is not right.
"""

from annotator.models import Annotation, GoldScore, GoldTask, Task
from annotator.services.gold import gold_score_record, gold_task_create
from infra.errors import Conflict

IOU_MIN = 0.5
# annotator.snippet_kind.SNIPPET_ANNOTATION: that module imports this one for its submit hook.
SNIPPET_ANNOTATION = "snippet_annotation"


def iou(a: dict, b: dict) -> float:
    """Intersection over union of two boxes `{"x", "y", "w", "h"}` in pixels."""
    left, top = max(a["x"], b["x"]), max(a["y"], b["y"])
    right, bottom = min(a["x"] + a["w"], b["x"] + b["w"]), min(a["y"] + a["h"], b["y"] + b["h"])
    inter = max(0, right - left) * max(0, bottom - top)
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def boxes_match(truth: list[dict], answer: list[dict]) -> tuple[int, int, int]:
    """(matched, truth boxes unmatched, answer boxes left over) with one-to-one matching per
    frame and label at IoU ≥ IOU_MIN, best pairs first."""
    pairs = sorted(
        (
            (iou(t, a), ti, ai)
            for ti, t in enumerate(truth)
            for ai, a in enumerate(answer)
            if t["frame"] == a["frame"] and t["label"] == a["label"]
        ),
        reverse=True,
    )
    used_t, used_a = set(), set()
    for value, ti, ai in pairs:
        if value < IOU_MIN:
            break
        if ti in used_t or ai in used_a:
            continue
        used_t.add(ti)
        used_a.add(ai)
    return len(used_t), len(truth) - len(used_t), len(answer) - len(used_a)


def gold_snippet_score(*, truth: dict, result: dict) -> tuple[int, int, list[dict]]:
    action = result.get("action")
    if action == "unsure":
        why = "can't tell"
    elif action != truth["action"]:
        why = "wrong action"
    elif truth.get("sku") and result.get("sku") != truth["sku"]:
        why = "wrong product"
    else:
        matched, missing, extra = boxes_match(truth.get("boxes", []), result.get("boxes", []))
        why = "right" if not (missing or extra) else f"boxes: {matched} matched, {missing} missing, {extra} extra"
    detail = {"truth": truth["action"], "answer": action, "right": why == "right", "why": why}
    return 1, int(detail["right"]), [detail]


def gold_snippet_answer(*, task: Task, gold: GoldTask, annotation: Annotation) -> GoldScore:
    """Score a submitted answer to a gold snippet (in the submit transaction); no label."""
    events, correct, details = gold_snippet_score(truth=gold.truth, result=annotation.result)
    return gold_score_record(task=task, annotation=annotation, events=events, correct=correct, details=details)


def gold_snippet_from_annotation(*, annotation: Annotation, by) -> Task:
    """A gold copy of an annotated snippet task whose truth is this annotation's answer
    (action, sku, boxes). 409 `not_gold_material` for an answer that is unsure or of another
    kind, or a task that is gold already."""
    task = annotation.task
    if task.kind != SNIPPET_ANNOTATION or annotation.result.get("action") == "unsure":
        raise Conflict("Only a snippet annotation with a definite action can become gold.", code="not_gold_material")
    if GoldTask.objects.filter(pk=task.pk).exists():
        raise Conflict("This task is gold already.", code="not_gold_material")
    result = annotation.result
    truth = {"action": result["action"], "sku": result.get("sku"), "boxes": list(result.get("boxes") or [])}
    return gold_task_create(
        queue=task.queue,
        subject_id=task.subject_id,
        due_at=task.due_at,
        payload=dict(task.payload or {}),
        truth=truth,
        by=by,
        snippets=task.snippets.all(),
        source_annotation_id=annotation.pk,
        purpose=task.purpose,
    )
