"""A visit validation with an event marked "can't tell" (`unsure`, API.md v1.1).

Such an answer does not finish the visit: no receipt, no labels (the next answer is the
label). The task goes back to its queue for a different associate, same due_at, with the
earlier answers in its payload (`earlier`) so the next person sees what was said. After two
unsure answers on the same event the task moves to the store's `escalation` queue, which
only supervisors claim; there `unsure` is no answer (`visit_result`), so it gets decided.
"""

from collections import Counter

from annotator.models import Annotation, Slot, Task, TaskExclusion
from annotator.services.handback import escalation_queue, task_hand_back

# Unsure answers on one event that send it to a supervisor.
ESCALATE_AFTER = 2


def has_unsure(result: dict) -> bool:
    return any(item["verdict"] == "unsure" for item in result["events"])


def _answer(result: dict) -> dict:
    """An earlier answer as context for the next person: verdicts and corrections, no names."""
    events = [
        {key: item[key] for key in ("event", "verdict", "sku", "action", "quantity") if key in item}
        for item in result["events"]
    ]
    missed = [{key: item[key] for key in ("sku", "action", "quantity")} for item in result.get("missed", [])]
    return {"events": events, "missed": missed}


def visit_unsure_hand_back(*, task: Task, annotation: Annotation) -> str:
    """Send the task on: `requeued` (to another associate) or `escalated` (to supervisors).
    Runs in the submit transaction, which holds the task row lock."""
    answers = list(
        Annotation.objects.filter(task=task).exclude(slot__state=Slot.State.CANCELLED).order_by("created_at")
    )
    unsure = Counter(
        item["event"] for answer in answers for item in answer.result["events"] if item["verdict"] == "unsure"
    )
    escalate = any(count >= ESCALATE_AFTER for count in unsure.values())
    queue = escalation_queue(store=task.store, kind=task.kind) if escalate else None
    payload = dict(task.payload or {})
    payload["earlier"] = [_answer(answer.result) for answer in answers]
    Task.objects.filter(pk=task.pk).update(payload=payload)
    task.payload = payload
    unsure_events = ", ".join(item["event"] for item in annotation.result["events"] if item["verdict"] == "unsure")
    task_hand_back(
        task=task,
        annotation=annotation,
        cause=TaskExclusion.Cause.UNSURE,
        reason=f"Can't tell: {unsure_events}",
        queue=queue,
    )
    return "escalated" if escalate else "requeued"
