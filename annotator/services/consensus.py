"""Consensus on snippets (API.md v1.1): a snippet task with overlap N > 1 is done by N
distinct associates (one slot each; the unique (task, holder) constraint keeps one associate
to one slot), and their answers become one label.

**No label per answer.** An answer of an N > 1 task writes no Label: the labels feed,
datasets and everything else that reads labels only ever meet the merged or adjudicated
label, with no filter to remember. The answers stay as Annotations.

**The merge** runs once, in the submit transaction of the N-th answer (the kind's on_submit
once the task is done: the submit holds the task row lock, and the task is done only once),
over the answers of
the task's done slots (a rejected answer's slot is cancelled, so it is not one of them):

- the action, with its sku, by majority: more than N/2 answers say the same (action, sku);
  `unsure` is no vote for anything;
- boxes: every answer's boxes and its tracks expanded to one box per frame
  (`annotator.tracks`: what exports write, so keyframes drawn differently along the same
  path still match), matched per frame and label: a box joins the first group (in answer
  order) whose first box it overlaps with IoU >= 0.5 (exact, in integers: 2 · intersection
  >= union) and that has no box of its answer yet, the one it overlaps most when several;
  a group of more than N/2 answers is a merged box, the mean of its corners (rounded half
  up), so it stays inside the frame;
- then the merged label (`source: consensus`): the merged action and sku, its boxes (runs
  of one box per frame turned back into tracks, as the workbench pre-fills the model's).

With no majority action, or any group of boxes found by N/2 answers or fewer, one
adjudication task (purpose `adjudication`, linked one-to-one to the task, in the store's
supervisors-only `adjudication` queue) shows the N answers; its answer is the label
(`source: adjudication`).

**Agreement** of such a label with the N answers, 0–1 (four decimals): the mean over the N
answers of each one's score, 0 for an answer with another (action, sku), otherwise the share
of the label's per-frame boxes it found (a box of the same frame and label with IoU >= 0.5),
1 when the label has no boxes. So 2 of 3 agreeing, all boxes found: 0.6667; all agreeing,
each finding half the boxes: 0.5. `provenance["answers"]` lists each answer as
`{"annotation", "associate", "agreed"}`, `agreed` meaning it had the label's action and sku.

The label's `annotation` and `associate` are those of the answer that completed the task
(consensus) or of the supervisor (adjudication); `provenance["answers"]` names all N.

A supervisor's rejection of one answer (`annotation_reject`) opens its slot again: before the
merge, the merge simply waits for the new answer; after it, the new answer merges again and
writes a second label for the task (the feed is append-only, as for a visit validated again;
`agreed_only` datasets drop a task's labels that contradict each other), while a task already
sent to adjudication stays with its one adjudication and writes no consensus label.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from annotator.models import Annotation, Label, Slot, Snippet, Task
from annotator.services.handback import supervisors_queue
from annotator.services.labels import LabelIn, label_record
from annotator.services.queues import task_enqueue
from annotator.tracks import track_boxes, tracks_from_predictions
from catalog.models import Store

ADJUDICATION = "adjudication"
UNSURE = "unsure"


def majority(n: int) -> int:
    """The fewest answers of n that are more than half."""
    return n // 2 + 1


# Boxes ---------------------------------------------------------------------------------------


def overlaps(a: dict, b: dict) -> bool:
    """IoU(a, b) >= 0.5, exactly (integer pixels: 2 · intersection >= union)."""
    inter_w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    inter_h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    inter = max(inter_w, 0) * max(inter_h, 0)
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return 2 * inter >= union


def iou(a: dict, b: dict) -> float:
    inter_w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    inter_h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    inter = max(inter_w, 0) * max(inter_h, 0)
    return inter / (a["w"] * a["h"] + b["w"] * b["h"] - inter)


def frame_boxes(result: dict, frame_count: int) -> list[dict]:
    """A snippet result's boxes, its tracks expanded to one box per frame: `{"frame",
    "label", "x", "y", "w", "h"}`."""
    boxes = [{key: box[key] for key in ("frame", "label", "x", "y", "w", "h")} for box in result.get("boxes") or []]
    return boxes + track_boxes(result.get("tracks") or [], frame_count)


def _half_up(total: int, count: int) -> int:
    return (2 * total + count) // (2 * count)


def _mean(boxes: list[dict]) -> dict:
    """The mean of the boxes' corners, rounded half up: inside the frame, at least 1 px."""
    n = len(boxes)
    left = _half_up(sum(b["x"] for b in boxes), n)
    top = _half_up(sum(b["y"] for b in boxes), n)
    right = _half_up(sum(b["x"] + b["w"] for b in boxes), n)
    bottom = _half_up(sum(b["y"] + b["h"] for b in boxes), n)
    return {"x": left, "y": top, "w": right - left, "h": bottom - top}


@dataclass
class Group:
    """Boxes of one frame and label from different answers that overlap its first."""

    frame: int
    label: str
    first: dict
    members: dict[int, dict]  # answer index -> its box


def box_groups(answers: list[list[dict]]) -> list[Group]:
    """Group the answers' per-frame boxes (see the module docstring), in answer order."""
    by_key: dict[tuple[int, str], list[Group]] = {}
    groups: list[Group] = []
    for index, boxes in enumerate(answers):
        for box in boxes:
            key = (box["frame"], box["label"])
            candidates = [g for g in by_key.get(key, []) if index not in g.members and overlaps(g.first, box)]
            if candidates:
                best = max(candidates, key=lambda g: iou(g.first, box))
                best.members[index] = box
            else:
                group = Group(frame=box["frame"], label=box["label"], first=box, members={index: box})
                by_key.setdefault(key, []).append(group)
                groups.append(group)
    return groups


# Agreement -----------------------------------------------------------------------------------


def _verdict(result: dict) -> tuple:
    return (result.get("action"), result.get("sku"))


def agreement(*, results: list[dict], label: dict, frame_count: int) -> tuple[float, list[bool]]:
    """How far the answers agree with a label's result (see the module docstring): the
    agreement (0–1, four decimals) and, per answer, whether it had the label's action and sku."""
    agreed = [_verdict(result) == _verdict(label) for result in results]
    wanted = frame_boxes(label, frame_count)
    scores = []
    for said, result in zip(agreed, results, strict=True):
        if not said:
            scores.append(0.0)
            continue
        if not wanted:
            scores.append(1.0)
            continue
        mine: dict[tuple[int, str], list[dict]] = {}
        for box in frame_boxes(result, frame_count):
            mine.setdefault((box["frame"], box["label"]), []).append(box)
        found = sum(1 for box in wanted if any(overlaps(box, b) for b in mine.get((box["frame"], box["label"]), [])))
        scores.append(found / len(wanted))
    return round(sum(scores) / len(scores), 4) if scores else 0.0, agreed


def answers_provenance(answers: Iterable[Annotation], agreed: list[bool]) -> list[dict]:
    """The shape other readers rely on (associate agreement with consensus): keep it."""
    return [
        {"annotation": str(answer.pk), "associate": answer.associate_id, "agreed": said}
        for answer, said in zip(answers, agreed, strict=True)
    ]


# The merge -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merge:
    """The answers' merged result, or None when they disagree (then `disputed` says why)."""

    result: dict | None
    disputed: list[str]


def merge(*, results: list[dict], frame_count: int) -> Merge:
    """Merge N answers' results (see the module docstring); pure, for tests and the submit."""
    n = len(results)
    need = majority(n)
    disputed = []
    votes: dict[tuple, int] = {}
    for result in results:
        if result.get("action") != UNSURE:
            votes[_verdict(result)] = votes.get(_verdict(result), 0) + 1
    top = max(votes.items(), key=lambda item: item[1], default=None)
    if top is None or top[1] < need:
        disputed.append("action")
    groups = box_groups([frame_boxes(result, frame_count) for result in results])
    if any(len(group.members) < need for group in groups):
        disputed.append("boxes")
    if disputed:
        return Merge(result=None, disputed=disputed)
    action, sku = top[0]
    boxes = [
        {"frame": g.frame, "label": g.label, **_mean(list(g.members.values()))}
        for g in sorted(groups, key=lambda g: (g.frame, g.label, g.first["x"], g.first["y"]))
    ]
    tracks, single = tracks_from_predictions(boxes, frame_count)
    return Merge(result={"action": action, "sku": sku, "boxes": single, "tracks": tracks}, disputed=[])


def _answers(task: Task) -> list[Annotation]:
    """The task's answers that count: those of its done slots, first answered first."""
    return list(Annotation.objects.filter(task_id=task.pk, slot__state=Slot.State.DONE).order_by("created_at", "pk"))


def _label_in(task: Task, *, human: dict, source: str, score: float, provenance: dict) -> LabelIn:
    """The label of a snippet task, as its kind writes one (the snippet and predictions of the
    payload written at enqueue; for a task enqueued by other means, the snippet's)."""
    payload = task.payload or {}
    if "snippet" in payload:
        snippet_id, predictions = payload["snippet"], payload.get("predictions")
    else:
        row = Snippet.objects.filter(pk=task.subject_id).values_list("pk", "predictions").first()
        snippet_id, predictions = row if row is not None else (None, payload.get("predictions"))
    return LabelIn(
        kind=Label.Kind.SNIPPET,
        verdict="annotated",
        predicted=predictions,
        human=human,
        snippet_id=snippet_id,
        provenance=provenance,
        source=source,
        agreement=score,
    )


@transaction.atomic(savepoint=False)
def consensus_merge(*, task: Task, annotation: Annotation, frame_count: int) -> Label | Task:
    """Merge the answers of a snippet task just done (its N-th answer is `annotation`): the
    consensus label, or the adjudication task when they disagree.

    Call inside the submit transaction, which holds the task's row lock: that lock and the
    task being done once make exactly one merge; the one-to-one `Task.adjudicates` is the
    backstop for the adjudication. A task already sent to adjudication (merged again after a
    rejection) stays there: its adjudication decides."""
    existing = Task.objects.filter(adjudicates=task).first()
    if existing is not None:
        return existing
    answers = _answers(task)
    results = [answer.result for answer in answers]
    merged = merge(results=results, frame_count=frame_count)
    if merged.result is None:
        return adjudication_open(task=task, answers=answers, disputed=merged.disputed)
    score, agreed = agreement(results=results, label=merged.result, frame_count=frame_count)
    item = _label_in(
        task,
        human=merged.result,
        source=Label.Source.CONSENSUS,
        score=score,
        provenance={"answers": answers_provenance(answers, agreed)},
    )
    return label_record(task=task, annotation=annotation, items=[item])[0]


@transaction.atomic(savepoint=False)
def adjudication_open(*, task: Task, answers: list[Annotation], disputed: list[str]) -> Task:
    """The adjudication task of an overlap task whose answers disagree: one per task (a second
    call answers the first), in the store's supervisors-only `adjudication` queue of the
    kind, with the task's priority and due_at, and the N answers in its payload."""
    existing = Task.objects.filter(adjudicates=task).first()
    if existing is not None:
        return existing
    store = Store.objects.get(pk=task.store_id)
    queue = supervisors_queue(store=store, kind=task.kind, name=ADJUDICATION)
    people = {
        user.pk: user.get_username()
        for user in get_user_model().objects.filter(pk__in=[a.associate_id for a in answers])
    }
    payload = dict(task.payload or {})
    payload.pop("rejection", None)
    payload[ADJUDICATION] = {
        "task": str(task.pk),
        "disputed": disputed,
        "answers": [
            {
                "annotation": str(answer.pk),
                "associate": answer.associate_id,
                "username": people.get(answer.associate_id, ""),
                "result": answer.result,
            }
            for answer in answers
        ],
    }
    return task_enqueue(
        queue=queue,
        subject_id=task.subject_id,
        due_at=task.due_at,
        payload=payload,
        priority=task.priority,
        purpose=ADJUDICATION,
        overlap=1,
        snippets=list(task.snippets.all()),
        adjudicates=task,
    )


def adjudication_label(*, task: Task, annotation: Annotation, frame_count: int) -> Label:
    """The label of an adjudication task's answer (`source: adjudication`), with its agreement
    with the answers it decided between. Runs in the submit transaction."""
    answers = _answers(Task(pk=task.adjudicates_id))
    results = [answer.result for answer in answers]
    score, agreed = agreement(results=results, label=annotation.result, frame_count=frame_count)
    item = _label_in(
        task,
        human=annotation.result,
        source=Label.Source.ADJUDICATION,
        score=score,
        provenance={"answers": answers_provenance(answers, agreed), "adjudicates": str(task.adjudicates_id)},
    )
    return label_record(task=task, annotation=annotation, items=[item])[0]
