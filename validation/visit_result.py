"""The result of a `visit_validation` task (API.md), checked against the task's own payload.

```
{"events": [{"event": "<event id>", "verdict": "confirm"|"correct"|"reject",
             "sku": ..., "action": ..., "quantity": ...}],
 "missed": [{"sku", "action", "quantity", "snippet"?}]}
```
Every event of the visit appears exactly once. A `correct` verdict names at least one
corrected field; the cleaned result carries all three (missing ones copied from the
prediction), so whoever applies it never has to look the prediction up again.
"""

from typing import Any

from django.core.exceptions import ValidationError

from annotator.models import Snippet
from annotator.results import as_choice, as_int, as_list, as_object, as_sku, invalid
from validation.models import Event

VERDICTS = ("confirm", "correct", "reject")
ACTIONS = tuple(Event.Action.values)
MAX_MISSED = 500
MAX_QUANTITY = 1000


def _event_verdict(raw: Any, path: str, *, predicted: dict[str, dict], store_id: int) -> dict:
    item = as_object(raw, path, ("event", "verdict", "sku", "action", "quantity"))
    event_id = item.get("event")
    if not isinstance(event_id, str) or event_id not in predicted:
        raise invalid(f"{path}.event", "Not an event of this visit.", code="unknown_event")
    verdict = as_choice(item, "verdict", path, VERDICTS)
    cleaned = {"event": event_id, "verdict": verdict}
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
    item = as_object(raw, path, ("sku", "action", "quantity", "snippet"))
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


def validate_visit_result(task, result: Any) -> dict:
    """Check a visit-validation result against the task's events; return it cleaned."""
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
        events.append(cleaned)
    if missing := [event_id for event_id in predicted if event_id not in seen]:
        raise invalid("events", f"Every event needs a verdict; missing: {', '.join(missing)}.", code="missing_events")
    missed = [
        _missed_item(raw, f"missed[{index}]", store_id=task.store_id)
        for index, raw in enumerate(as_list(result, "missed", "", max_items=MAX_MISSED, required=False))
    ]
    return {"events": events, "missed": missed}
