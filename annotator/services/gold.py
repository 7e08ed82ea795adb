"""Gold tasks: work with a known answer, served to associates at the store's `gold_share` of
their claims, scored on submit; and the automatic pause of an associate whose gold accuracy
is surely under the store's floor.

**Serving** (`gold_serve`, called by the claim under the associate's user lock). Deterministic,
not a lottery: a claim in a queue is served gold when the associate's gold served in that
store is below `gold_share` × their claims there (answers + this one), and the queue has
gold they have not been served yet and real work they could take instead (so a gold task
never appears when the work home says there is nothing). A gold task has no free slots: the
serve locks the task row (serialising the slot numbering of one gold task among claimers),
adds a slot for this associate, leased at once; the unique (task, holder) slot keeps it once
per associate. Its deadline is refreshed to "now + the store's SLA" at each serve, like a
fresh pending visit's.

**Scoring** is the kind's (it knows its result); `gold_score_record` stores the score in the
submit transaction and pauses the associate at once when, over their gold events in that
store since their last reinstatement (at least `min_gold_events`), the upper end of the 95 %
Wilson interval of their accuracy is under `min_gold_accuracy`: even the kindest reading of
the evidence says they are below the floor.
"""

import datetime as dt
import uuid
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Sum
from django.db.models.functions import Now
from django.utils import timezone

from annotator.models import Annotation, AssociatePause, GoldScore, GoldTask, Queue, Slot, Snippet, Task
from annotator.services.eligibility import not_theirs
from catalog.models import Store
from catalog.services.policy import control_record
from infra.errors import Conflict
from infra.stats import wilson_interval

# A gold task is answered by many associates, once each: it is never "done" by count.
GOLD_OVERLAP = 32767
PAUSED = "associate_paused"
REINSTATED = "associate_reinstated"


def gold_for(task: Task) -> GoldTask | None:
    """The gold row of a task, or None for real work: no query when the submit's task lock
    already said it is not gold (`is_gold`), else one primary-key lookup."""
    if getattr(task, "is_gold", True) is False:
        return None
    return GoldTask.objects.filter(pk=task.pk).first()


@transaction.atomic
def gold_task_create(
    *,
    queue: Queue,
    subject_id: uuid.UUID,
    due_at: dt.datetime,
    payload: dict,
    truth: dict,
    by,
    snippets: Iterable[Snippet] = (),
    source_annotation_id: uuid.UUID | None = None,
    purpose: str = "review",
) -> Task:
    """A gold task in the store's own queue, shaped as the kind's real work (`purpose` as
    real tasks of it have), with no slot: it is only ever leased through `gold_serve`."""
    task = Task.objects.create(
        queue=queue,
        store_id=queue.store_id,
        kind=queue.kind,
        subject_id=subject_id,
        due_at=due_at,
        overlap=GOLD_OVERLAP,
        payload=payload,
        purpose=purpose,
    )
    task.snippets.set({snippet.pk for snippet in snippets})
    GoldTask.objects.create(
        task=task, store_id=queue.store_id, truth=truth, created_by=by, source_annotation_id=source_annotation_id
    )
    return task


def gold_unserved(*, associate_id: int):
    """Active gold tasks this associate was never served nor excluded from (the claim's own
    probes, `annotator.services.eligibility.not_theirs`)."""
    return not_theirs(GoldTask.objects.filter(is_active=True), associate_id=associate_id)


def _due_now(store: Store, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(minutes=store.sla_minutes)


def gold_serve(*, associate, queue_id: uuid.UUID, lease_seconds: int, real_work: bool) -> tuple[Task, Slot] | None:
    """A gold task of this queue and the slot of it just leased to the associate, if their
    share is due (see the module docstring), else None. Call inside the claim's transaction, holding the
    associate's user lock (their counts cannot move under it). `real_work`: the queue has
    something else they could be given."""
    if not real_work:
        return None
    queue = Queue.objects.select_related("store").only("store").get(pk=queue_id)
    store = queue.store
    if store.gold_share <= 0:
        return None
    served = Slot.objects.filter(holder_id=associate.pk, task__gold__store_id=store.pk).count()
    answered = Annotation.objects.filter(associate_id=associate.pk, store_id=store.pk).count()
    if served >= store.gold_share * (answered + 1):
        return None
    candidates = (
        gold_unserved(associate_id=associate.pk)
        .filter(store_id=store.pk, task__queue_id=queue_id)
        .order_by("created_at", "task_id")
        .values_list("task_id", flat=True)
    )
    for task_id in candidates[:5]:
        task = Task.objects.select_for_update(of=("self",)).filter(pk=task_id).annotate(now=Now()).first()
        if task is None or Slot.objects.filter(task_id=task_id, holder_id=associate.pk).exists():
            continue
        now = task.now
        due_at = _due_now(store, now)
        index = (Slot.objects.filter(task_id=task_id).aggregate(top=Max("index"))["top"] or 0) + 1
        slot = Slot.objects.create(
            task=task,
            index=index,
            queue_id=queue_id,
            priority=task.priority,
            due_at=due_at,
            created_at=now,
            holder_id=associate.pk,
            lease_token=1,
            leased_at=now,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            last_heartbeat_at=now,
        )
        payload = dict(task.payload or {})
        if "due_at" in payload:
            payload["due_at"] = due_at.isoformat()
        Task.objects.filter(pk=task.pk).update(due_at=due_at, payload=payload)
        task.due_at, task.payload = due_at, payload
        return task, slot
    return None


# Scores and the automatic pause ------------------------------------------------------------


def gold_totals(*, associate_id: int, store_ids: Iterable[int], since: dt.datetime | None = None) -> tuple[int, int]:
    """(events, correct) of an associate's scored gold answers in these stores."""
    scores = GoldScore.objects.filter(associate_id=associate_id, store_id__in=list(store_ids))
    if since is not None:
        scores = scores.filter(created_at__gt=since)
    totals = scores.aggregate(events=Sum("events"), correct=Sum("correct"))
    return totals["events"] or 0, totals["correct"] or 0


def paused_store_ids(*, associate_id: int) -> set[int]:
    return set(
        AssociatePause.objects.filter(associate_id=associate_id, reinstated_at__isnull=True).values_list(
            "store_id", flat=True
        )
    )


def gold_score_record(*, task: Task, annotation: Annotation, events: int, correct: int, details: list) -> GoldScore:
    """Store one scored gold answer (inside the submit transaction), then pause the associate
    in the task's store if the evidence now says they are under its floor."""
    score = GoldScore.objects.create(
        annotation=annotation,
        task=task,
        store_id=task.store_id,
        associate_id=annotation.associate_id,
        events=events,
        correct=correct,
        details=details,
    )
    associate_pause_check(store=Store.objects.get(pk=task.store_id), associate_id=annotation.associate_id)
    return score


def associate_pause_check(*, store: Store, associate_id: int) -> AssociatePause | None:
    """Pause the associate in `store` when they have at least `min_gold_events` gold events
    there since their last reinstatement and the Wilson 95 % upper bound of their accuracy
    is under `min_gold_accuracy`. Recorded as a control action with the reason in words.
    Returns the new pause, or None. An open pause already there is left alone (the partial
    unique constraint is the backstop of two submits racing to pause)."""
    if AssociatePause.objects.filter(store=store, associate_id=associate_id, reinstated_at__isnull=True).exists():
        return None
    last = (
        AssociatePause.objects.filter(store=store, associate_id=associate_id)
        .order_by("-reinstated_at")
        .values_list("reinstated_at", flat=True)
        .first()
    )
    events, correct = gold_totals(associate_id=associate_id, store_ids=[store.pk], since=last)
    if events < store.min_gold_events:
        return None
    _, high = wilson_interval(correct, events)
    if high >= store.min_gold_accuracy:
        return None
    reason = (
        f"Gold accuracy {correct} of {events} events ({correct / events:.0%}); even the top of its 95 % "
        f"interval, {high:.0%}, is under this store's floor of {store.min_gold_accuracy:.0%}."
    )
    username = get_user_model().objects.filter(pk=associate_id).values_list("username", flat=True).first()
    with transaction.atomic():
        pause = AssociatePause.objects.create(store=store, associate_id=associate_id, reason=reason)
        control_record(
            store_id=store.pk,
            actor=None,
            action=PAUSED,
            target=f"user:{associate_id}",
            old={"associate": username, "paused": False},
            new={"associate": username, "paused": True, "gold_events": events, "gold_correct": correct},
            comment=reason,
        )
    return pause


@transaction.atomic
def associate_reinstate(*, associate, stores: Iterable[Store], by, comment: str = "") -> list[AssociatePause]:
    """End the associate's open pauses in `stores` (the caller checks that `by` supervises
    them), each recorded as a control action; 409 `not_paused` when there is none. Their gold
    evidence starts afresh for the pause rule (the figures on the associates page do not)."""
    pauses = list(
        AssociatePause.objects.select_for_update(of=("self",))
        .filter(associate_id=associate.pk, store__in=list(stores), reinstated_at__isnull=True)
        .order_by("store_id")
    )
    if not pauses:
        raise Conflict("This associate is not paused in your stores.", code="not_paused")
    now = timezone.now()
    for pause in pauses:
        pause.reinstated_at, pause.reinstated_by = now, by
        pause.save(update_fields=["reinstated_at", "reinstated_by"])
        control_record(
            store_id=pause.store_id,
            actor=by,
            action=REINSTATED,
            target=f"user:{associate.pk}",
            old={"associate": associate.get_username(), "paused": True},
            new={"associate": associate.get_username(), "paused": False},
            comment=comment or f"Reinstated {associate.get_username()} (paused: {pause.reason})",
        )
    return pauses


def pause_reasons(*, associate) -> list[tuple[str, str, dt.datetime]]:
    """(store code, reason, paused at) of the associate's open pauses: for their work home."""
    return list(
        AssociatePause.objects.filter(associate=associate, reinstated_at__isnull=True)
        .order_by("store__code")
        .values_list("store__code", "reason", "paused_at")
    )
