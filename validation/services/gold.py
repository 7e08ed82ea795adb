"""Gold visits: a visit with a known answer (`truth`), served to associates as if it were a
pending visit of its store (`annotator.services.gold`), scored per event on every submit.

A gold visit is a `Visit` row (so the workbench renders it from the same payload and the
same media as any other) whose task has a `GoldTask` row. It never gets a receipt, a
webhook, a label or a dataset row: `review_apply` scores a gold answer and stops.

Truth: `{"events": [{"external_id", "verdict": "confirm"|"correct"|"reject", "sku", "action",
"quantity"}], "missed": [{"sku", "action", "quantity"}]}`, every event of the visit once.

Scoring, per event of the visit (`gold_visit_score`):
- right when the answer has the truth's outcome (it happened, or it did not: `reject`) and,
  when it happened, the same sku, action and quantity (a `confirm` means the model's; a
  `correct` names what differs from it; the truth reads the same way);
- `unsure` is not right (and, on gold, sends the task nowhere);
- an **unchecked** `confirm` (the event was never opened) is not right either: a gold answer
  measures a person's judgement, and a confirm nobody looked at is the model's word;
- each truth `missed` item the answer does not add (same sku, action, quantity) is one wrong
  event; each missed item the answer adds that the truth does not have is one wrong event;
  each one matched is a right event.
"""

import datetime as dt
import random
import uuid
from collections import Counter
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from annotator.models import Annotation, GoldScore, GoldTask, Task
from annotator.results import as_choice, as_int, as_list, as_object, as_sku, invalid
from annotator.selectors.annotations import cancelled_slots
from annotator.services.gold import gold_score_record, gold_task_create
from annotator.services.queues import queue_for
from catalog.models import Store
from infra.errors import Conflict, LoupeError
from validation.models import Event, Visit
from validation.services.ingest import StoreCatalog, _build, _resolve, body_sha256, visit_check
from validation.visit_kind import VISIT_VALIDATION, visit_task_payload
from validation.visit_result import ACTIONS, MAX_MISSED, MAX_QUANTITY, is_checked

TRUTH_VERDICTS = ("confirm", "correct", "reject")
FIELDS = ("sku", "action", "quantity")


@dataclass(frozen=True)
class GoldVisit:
    visit: Visit
    task: Task


def gold_truth_check(*, store: Store, events: list[Event], truth: object, path: str = "truth") -> dict:
    """The truth of a gold visit, cleaned against its events (by `external_id`), or 400 naming
    the field (`truth.events[1].sku`). Cleaned items carry the event id and every field."""
    truth = as_object(truth, path, ("events", "missed"))
    by_external = {event.external_id: event for event in events}
    seen: set[str] = set()
    cleaned_events = []
    for index, raw in enumerate(as_list(truth, "events", path, max_items=max(len(events), 1))):
        item_path = f"{path}.events[{index}]"
        item = as_object(raw, item_path, ("external_id", "verdict", "sku", "action", "quantity"))
        external_id = item.get("external_id")
        if not isinstance(external_id, str) or external_id not in by_external:
            raise invalid(f"{item_path}.external_id", "Not an event of this visit.", code="unknown_event")
        if external_id in seen:
            raise invalid(f"{item_path}.external_id", "This event appears twice.", code="duplicate_event")
        seen.add(external_id)
        event = by_external[external_id]
        verdict = as_choice(item, "verdict", item_path, TRUTH_VERDICTS)
        cleaned = {"event": str(event.id), "external_id": external_id, "verdict": verdict}
        if verdict == "correct":
            cleaned["sku"] = as_sku(item, "sku", item_path, store_id=store.pk) if item.get("sku") else event.sku
            cleaned["action"] = as_choice(item, "action", item_path, ACTIONS, default=event.action)
            cleaned["quantity"] = as_int(
                item, "quantity", item_path, minimum=1, maximum=MAX_QUANTITY, default=event.quantity
            )
        elif verdict == "confirm":
            cleaned |= {"sku": event.sku, "action": event.action, "quantity": event.quantity}
        cleaned_events.append(cleaned)
    if missing := [e.external_id for e in events if e.external_id not in seen]:
        raise invalid(
            f"{path}.events", f"Every event needs its truth; missing: {', '.join(missing)}.", "missing_events"
        )
    missed = []
    for index, raw in enumerate(as_list(truth, "missed", path, max_items=MAX_MISSED, required=False)):
        item_path = f"{path}.missed[{index}]"
        item = as_object(raw, item_path, ("sku", "action", "quantity", "snippet"))
        missed.append(
            {
                "sku": as_sku(item, "sku", item_path, store_id=store.pk),
                "action": as_choice(item, "action", item_path, ACTIONS),
                "quantity": as_int(item, "quantity", item_path, minimum=1, maximum=MAX_QUANTITY, default=1),
            }
        )
    return {"events": cleaned_events, "missed": missed}


def _store_gold(*, store: Store, visit: Visit, events: list[Event], truth: dict, by, source=None) -> GoldVisit:
    Event.objects.bulk_create(events)
    queue = queue_for(store=store, kind=VISIT_VALIDATION)
    task = gold_task_create(
        queue=queue,
        subject_id=visit.id,
        due_at=visit.due_at,
        payload=visit_task_payload(visit, events=events),
        truth=truth,
        by=by,
        snippets=[event.snippet for event in events if event.snippet_id],
        source_annotation_id=source,
    )
    return GoldVisit(visit=visit, task=task)


def _as_pending(visit: Visit, store: Store) -> None:
    """Whatever the model's confidence, a gold visit waits for review like a pending one."""
    visit.status = Visit.Status.PENDING_REVIEW
    visit.decision = Visit.Decision.REVIEW
    visit.audited = False
    visit.final_cart = None
    visit.due_at = visit.exited_at + dt.timedelta(minutes=store.sla_minutes)


def gold_visit_create(*, store: Store, payload: object, by) -> GoldVisit:
    """Store a gold visit from a visit body plus `truth` (the caller checked store access):
    the visit and its events, its task (a `GoldTask`, no receipt, no label). 400 naming the
    field for a bad body or truth (`too_sure` on `events` when every event is at or above the
    auto-accept threshold: a pending visit never is, so it would stand out), 409
    `duplicate_external_id` when the store already has a visit of that external_id; nothing is
    stored then."""
    if not isinstance(payload, dict):
        raise LoupeError("The gold visit must be a JSON object.", code="invalid")
    body = {key: value for key, value in payload.items() if key != "truth"}
    if "truth" not in payload:
        raise LoupeError("A gold visit needs its truth.", code="required", field="truth")
    data = visit_check(store=store, payload=body)
    catalog = StoreCatalog(store)
    _resolve(catalog, data)
    visit, events = _build(store, data, body_sha256(data), catalog, random.Random(0))
    if visit.decision == Visit.Decision.AUTO_ACCEPT:
        raise LoupeError(
            "A gold visit must look like a pending one: at least one event under the store's "
            f"auto-accept threshold ({store.auto_accept_threshold:g}).",
            code="too_sure",
            field="events",
        )
    truth = gold_truth_check(store=store, events=events, truth=payload["truth"])
    _as_pending(visit, store)
    try:
        with transaction.atomic():
            visit.save(force_insert=True)
            return _store_gold(store=store, visit=visit, events=events, truth=truth, by=by)
    except IntegrityError:
        if Visit.objects.filter(store=store, external_id=data["external_id"]).exists():
            raise Conflict(
                f"Visit {data['external_id']!r} was already received.",
                code="duplicate_external_id",
                field="external_id",
            ) from None
        raise


def accepted_answer(*, visit: Visit) -> Annotation | None:
    """The answer a validated visit's receipt stands on: its latest annotation of a real
    (not gold) task that no supervisor rejected and that had no `unsure`."""
    annotations = (
        Annotation.objects.filter(task__kind=VISIT_VALIDATION, task__subject_id=visit.pk, task__gold__isnull=True)
        .exclude(slot__in=cancelled_slots())
        .order_by("-created_at")
    )
    for annotation in annotations[:20]:
        if not any(item.get("verdict") == "unsure" for item in annotation.result.get("events", [])):
            return annotation
    return None


def gold_visit_from_visit(*, visit: Visit, by) -> GoldVisit:
    """ "Make this a gold visit": a copy of a validated visit (same events, products, media; a
    new external_id and no shopper token) whose truth is the accepted answer. 409
    `not_validated` unless the visit is validated with such an answer, `too_sure` when the
    model was sure of every event (an audited visit: in review it would stand out)."""
    annotation = accepted_answer(visit=visit) if visit.status == Visit.Status.VALIDATED else None
    if annotation is None:
        raise Conflict("Only a validated visit with an accepted answer can become gold.", code="not_validated")
    if visit.min_confidence is None or visit.min_confidence >= visit.threshold:
        # An audited visit the model was sure of: in review, it would stand out.
        raise Conflict("Only a visit the model was unsure about can become gold.", code="too_sure")
    store = visit.store
    originals = list(visit.events.select_related("product", "camera", "snippet").order_by("seq"))
    copy = Visit(
        store=store,
        external_id=f"gold-{uuid.uuid4().hex[:16]}",
        shopper="gold",
        entered_at=visit.entered_at,
        exited_at=visit.exited_at,
        model_version=visit.model_version,
        threshold=visit.threshold,
        min_confidence=visit.min_confidence,
        body_sha256="",
        predicted_cart=visit.predicted_cart,
    )
    _as_pending(copy, store)
    events = [
        Event(
            visit=copy,
            seq=event.seq,
            external_id=event.external_id,
            action=event.action,
            product=event.product,
            sku=event.sku,
            quantity=event.quantity,
            confidence=event.confidence,
            occurred_at=event.occurred_at,
            camera=event.camera,
            snippet=event.snippet,
            candidates=event.candidates,
        )
        for event in originals
    ]
    by_id = {str(event.id): event.external_id for event in originals}
    answer = annotation.result
    truth = {
        "events": [
            {key: item[key] for key in ("verdict", "sku", "action", "quantity") if key in item}
            | {"external_id": by_id[item["event"]]}
            for item in answer.get("events", [])
        ],
        "missed": [
            {"sku": item["sku"], "action": item["action"], "quantity": item["quantity"]}
            for item in answer.get("missed", [])
        ],
    }
    cleaned = gold_truth_check(store=store, events=events, truth=truth)
    with transaction.atomic():
        copy.save(force_insert=True)
        return _store_gold(store=store, visit=copy, events=events, truth=cleaned, by=by, source=annotation.pk)


# Scoring ---------------------------------------------------------------------------------


def _reading(item: dict, prediction: dict) -> tuple | None:
    """What a verdict says happened: None (it did not), or (sku, action, quantity)."""
    if item["verdict"] == "reject":
        return None
    if item["verdict"] == "correct":
        return item["sku"], item["action"], item["quantity"]
    return prediction["sku"], prediction["action"], prediction["quantity"]


def gold_visit_score(*, task: Task, truth: dict, result: dict) -> tuple[int, int, list[dict]]:
    """(events, correct, details) of one answer against the truth (see the module docstring)."""
    predicted = {str(event["id"]): event for event in (task.payload or {}).get("events", [])}
    answers = {item["event"]: item for item in result.get("events", [])}
    details = []
    for expected in truth["events"]:
        prediction = predicted.get(expected["event"], {})
        answer = answers.get(expected["event"])
        want = _reading(expected, prediction)
        if answer is None or answer["verdict"] == "unsure":
            right, why = False, "can't tell" if answer is not None else "no verdict"
            got = None
        else:
            got = _reading(answer, prediction)
            checked = is_checked(answer["verdict"], answer.get("evidence") or {})
            if not checked:
                right, why = False, "confirmed without opening the event"
            elif (got is None) != (want is None):
                right, why = False, "said it did not happen" if got is None else "said it happened"
            elif got is not None and got[0] != want[0]:
                right, why = False, "wrong product"
            elif got is not None and got[1] != want[1]:
                right, why = False, "wrong action"
            elif got is not None and got[2] != want[2]:
                right, why = False, "wrong quantity"
            else:
                right, why = True, "right"
        details.append(
            {
                "event": expected["external_id"],
                "truth": expected["verdict"] if want is None else dict(zip(FIELDS, want, strict=True)),
                "answer": (answer or {}).get("verdict"),
                "right": right,
                "why": why,
            }
        )
    wanted = Counter((m["sku"], m["action"], m["quantity"]) for m in truth.get("missed", []))
    added = Counter((m["sku"], m["action"], m["quantity"]) for m in result.get("missed", []))
    for key in sorted(set(wanted) | set(added)):
        matched = min(wanted[key], added[key])
        item = dict(zip(FIELDS, key, strict=True))
        right = {"event": None, "truth": item, "answer": "missed", "right": True, "why": "right"}
        not_added = {"event": None, "truth": item, "answer": None, "right": False, "why": "missed item not added"}
        extra = {"event": None, "truth": None, "answer": item, "right": False, "why": "added an item not there"}
        details += [right] * matched + [not_added] * (wanted[key] - matched) + [extra] * (added[key] - matched)
    return len(details), sum(1 for item in details if item["right"]), details


def gold_visit_answer(*, task: Task, gold: GoldTask, annotation: Annotation) -> GoldScore:
    """Score a submitted answer to a gold visit (inside the submit transaction) and record it;
    nothing else happens: no cart, receipt, webhook or label."""
    events, correct, details = gold_visit_score(task=task, truth=gold.truth, result=annotation.result)
    return gold_score_record(task=task, annotation=annotation, events=events, correct=correct, details=details)


def gold_visit_detail(*, visit: Visit) -> dict:
    """The truth and the scores of a gold visit (`GET /api/v1/gold/visits/{id}/`)."""
    gold = GoldTask.objects.select_related("task").get(task__kind=VISIT_VALIDATION, task__subject_id=visit.pk)
    scores = GoldScore.objects.filter(task_id=gold.task_id).select_related("associate").order_by("created_at")
    answers = [
        {
            "annotation": str(score.annotation_id),
            "associate": score.associate.get_username(),
            "submitted_at": score.created_at,
            "events": score.events,
            "correct": score.correct,
            "accuracy": score.correct / score.events if score.events else None,
            "scores": score.details,
        }
        for score in scores
    ]
    return {
        "id": str(visit.pk),
        "external_id": visit.external_id,
        "store": visit.store.code,
        "task_id": str(gold.task_id),
        "created_at": gold.created_at,
        "active": gold.is_active,
        "truth": {
            "events": [{k: v for k, v in item.items() if k != "event"} for item in gold.truth.get("events", [])],
            "missed": gold.truth.get("missed", []),
        },
        "answers": answers,
        "events": sum(a["events"] for a in answers),
        "correct": sum(a["correct"] for a in answers),
    }
