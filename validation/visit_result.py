"""The result of a `visit_validation` task (API.md), checked against the task's own payload.

```
{"events": [{"event": "<event id>", "verdict": "confirm"|"correct"|"reject"|"unsure",
             "sku": ..., "action": ..., "quantity": ...,
             "evidence": {"opened": bool, "watched_ms": int, "frames_viewed": int}}],
 "missed": [{"sku", "action", "quantity", "snippet"?}]}
```
Every event of the visit appears exactly once. A `correct` verdict names at least one
corrected field; the cleaned result carries all three (missing ones copied from the
prediction), so whoever applies it never has to look the prediction up again.

Evidence (API.md v1.1) is optional; the cleaned verdict always carries it (all zero when
absent) and `checked`: the event was opened, or the verdict is `correct` or `reject`. An
audit needs every event checked (400 `not_checked`, `field` = `events[i]`). `unsure` ("can't
tell") sends the task to another associate (`validation.services.unsure`); a task in a
supervisors-only queue (an escalation) is where it gets decided, so it cannot be unsure there.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from annotator.models import Snippet
from annotator.results import as_choice, as_int, as_list, as_object, as_sku, invalid
from validation.models import Event

VERDICTS = ("confirm", "correct", "reject", "unsure")
ACTIONS = tuple(Event.Action.values)
MAX_MISSED = 500
MAX_QUANTITY = 1000
# Evidence bounds: a day of watching, a million frames stepped; beyond that it is not a person.
MAX_WATCHED_MS = 86_400_000
MAX_FRAMES_VIEWED = 1_000_000
NO_EVIDENCE = {"opened": False, "watched_ms": 0, "frames_viewed": 0}


def _evidence(item: dict, path: str) -> dict:
    """The evidence of one verdict, cleaned; all zero when the client sent none."""
    if item.get("evidence") is None:
        return dict(NO_EVIDENCE)
    path = f"{path}.evidence"
    raw = as_object(item["evidence"], path, NO_EVIDENCE)
    opened = raw.get("opened", False)
    if not isinstance(opened, bool):
        raise invalid(f"{path}.opened", "Expected true or false.")
    return {
        "opened": opened,
        "watched_ms": as_int(raw, "watched_ms", path, minimum=0, maximum=MAX_WATCHED_MS, default=0),
        "frames_viewed": as_int(raw, "frames_viewed", path, minimum=0, maximum=MAX_FRAMES_VIEWED, default=0),
    }


def is_checked(verdict: str, evidence: dict) -> bool:
    """A human judgement: the event was opened, or the verdict changed what the model said."""
    return verdict in ("correct", "reject") or bool(evidence.get("opened"))


def _event_verdict(raw: Any, path: str, *, predicted: dict[str, dict], store_id: int) -> dict:
    item = as_object(raw, path, ("event", "verdict", "sku", "action", "quantity", "evidence"))
    event_id = item.get("event")
    if not isinstance(event_id, str) or event_id not in predicted:
        raise invalid(f"{path}.event", "Not an event of this visit.", code="unknown_event")
    verdict = as_choice(item, "verdict", path, VERDICTS)
    evidence = _evidence(item, path)
    cleaned = {"event": event_id, "verdict": verdict, "evidence": evidence, "checked": is_checked(verdict, evidence)}
    if verdict != "correct":
        return cleaned
    if not any(item.get(key) is not None for key in ("sku", "action", "quantity")):
        raise invalid(f"{path}.sku", "A correction names the corrected sku, action or quantity.", code="required")
    prediction = predicted[event_id]
    cleaned["sku"] = as_sku(item, "sku", path, store_id=store_id) if item.get("sku") is not None else prediction["sku"]
    cleaned["action"] = as_choice(item, "action", path, ACTIONS, default=prediction["action"])
    cleaned["quantity"] = as_int(
        item, "quantity", path, minimum=1, maximum=MAX_QUANTITY, default=prediction.get("quantity") or 1
    )
    return cleaned


def _missed_item(raw: Any, path: str, *, store_id: int) -> dict:
    item = as_object(raw, path, ("sku", "action", "quantity", "snippet", "verdict"))
    if item.get("verdict") not in (None, "missed"):
        raise invalid(
            f"{path}.verdict", "A missed item is something you saw happen: it cannot be unsure.", code="invalid"
        )
    cleaned = {
        "sku": as_sku(item, "sku", path, store_id=store_id),
        "action": as_choice(item, "action", path, ACTIONS),
        "quantity": as_int(item, "quantity", path, minimum=1, maximum=MAX_QUANTITY, default=1),
        "snippet": None,
    }
    snippet = item.get("snippet")
    if snippet is not None:
        try:
            known = Snippet.objects.filter(store_id=store_id, pk=str(snippet)).exists()
        except (ValueError, ValidationError):  # not a UUID
            known = False
        if not known:
            raise invalid(f"{path}.snippet", "Unknown snippet in this store.", code="unknown_snippet")
        cleaned["snippet"] = str(snippet)
    return cleaned


def validate_visit_result(task, result: Any, *, decides: Callable[[], bool] = lambda: False) -> dict:
    """Check a visit-validation result against the task's events; return it cleaned.
    `decides()`: the task is an escalation, where `unsure` is no answer (asked only when a
    verdict is unsure: it costs a query)."""
    result = as_object(result, "", ("events", "missed"))
    predicted = {str(event["id"]): event for event in (task.payload or {}).get("events", [])}
    seen: set[str] = set()
    events = []
    raw_events = as_list(result, "events", "", max_items=max(len(predicted), 1))
    for index, raw in enumerate(raw_events):
        cleaned = _event_verdict(raw, f"events[{index}]", predicted=predicted, store_id=task.store_id)
        if cleaned["event"] in seen:
            raise invalid(f"events[{index}].event", "This event appears twice.", code="duplicate_event")
        seen.add(cleaned["event"])
        if task.purpose == "audit" and not cleaned["checked"]:
            raise invalid(
                f"events[{index}]",
                "An audit checks every event: open it (watch or step through its clip) before confirming.",
                code="not_checked",
            )
        if cleaned["verdict"] == "unsure" and decides():
            raise invalid(f"events[{index}].verdict", "An escalation is decided here: not unsure.", code="invalid")
        events.append(cleaned)
    if missing := [event_id for event_id in predicted if event_id not in seen]:
        raise invalid("events", f"Every event needs a verdict; missing: {', '.join(missing)}.", code="missing_events")
    missed = [
        _missed_item(raw, f"missed[{index}]", store_id=task.store_id)
        for index, raw in enumerate(as_list(result, "missed", "", max_items=MAX_MISSED, required=False))
    ]
    return {"events": events, "missed": missed}
