"""Associate quality (API.md v1.1): per associate of the caller's stores, their gold accuracy
with its Wilson 95 % interval, how their answers stood against audits, their agreement with
consensus, their median active time per task and a speed flag; and whether they are paused.

The speed flag: over the window's tasks that come with clips (snippets, visits with event
clips), the median active time is under half the median clip length. Nobody can watch a clip
in less time than it plays, so answers that fast were given without watching.
"""

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Sum

from annotator.models import Annotation, AssociatePause, GoldScore, Label
from annotator.selectors.associates import associate_figures, associates_of
from catalog.access import store_ids as ids_of
from infra.stats import wilson_interval

WINDOW = dt.timedelta(days=30)
SPEED_MIN_TASKS = 5
SPEED_FRACTION = 0.5
PAGE_SIZE = 50


@dataclass
class Rate:
    """`correct` of `events` (or agreed of compared) with the Wilson 95 % interval."""

    events: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.events if self.events else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.correct, self.events)

    def as_dict(self, *, total: str = "events", hits: str = "correct", share: str = "accuracy") -> dict:
        interval = self.interval
        return {
            total: self.events,
            hits: self.correct,
            share: self.accuracy,
            "ci_low": interval[0] if interval else None,
            "ci_high": interval[1] if interval else None,
        }


@dataclass
class AssociateQuality:
    user_id: int
    username: str
    stores: list[str] = field(default_factory=list)
    # (store code, reason, paused at) of their open pauses in the caller's stores.
    pauses: list[tuple[str, str, dt.datetime]] = field(default_factory=list)
    gold: Rate = field(default_factory=Rate)
    gold_by_store: dict[str, Rate] = field(default_factory=dict)
    audits: Rate = field(default_factory=Rate)
    agreement: Rate = field(default_factory=Rate)
    tasks_done: int = 0
    median_active_s: float | None = None
    # Over the tasks with clips only: their median active time and clip length.
    median_active_clip_s: float | None = None
    median_clip_s: float | None = None
    timed_tasks: int = 0

    @property
    def state(self) -> str:
        return "paused" if self.pauses else "active"

    @property
    def too_fast(self) -> bool:
        return (
            self.timed_tasks >= SPEED_MIN_TASKS
            and self.median_clip_s is not None
            and self.median_active_clip_s is not None
            and self.median_active_clip_s < SPEED_FRACTION * self.median_clip_s
        )

    @property
    def speed_reason(self) -> str:
        if not self.too_fast:
            return ""
        return (
            f"Median {self.median_active_clip_s:.1f} s of active time per task with clips, but the clips' median "
            f"length is {self.median_clip_s:.1f} s: nobody can watch a clip that fast."
        )


def associate_quality(*, stores, after_id: int = 0, limit: int = PAGE_SIZE, now: dt.datetime) -> list[AssociateQuality]:
    """Up to `limit` associates of `stores` with id above `after_id` (id order, so the API pages
    on it), with their quality figures over `stores`. Gold accuracy is over all their scored
    gold answers; the rest over the last `WINDOW`. A few grouped queries for the whole page."""
    store_ids = ids_of(stores)
    people = {
        user.pk: AssociateQuality(user_id=user.pk, username=user.get_username())
        for user in associates_of(stores=stores).filter(pk__gt=after_id).order_by("pk")[:limit]
    }
    if not people:
        return []
    since = now - WINDOW
    for user_id, code in (
        associates_of(stores=stores)
        .filter(pk__in=people, storeaccess__store_id__in=store_ids)
        .order_by("storeaccess__store__code")
        .values_list("pk", "storeaccess__store__code")
    ):
        if code not in people[user_id].stores:
            people[user_id].stores.append(code)
    for user_id, code, reason, paused_at in (
        AssociatePause.objects.filter(associate_id__in=people, store_id__in=store_ids, reinstated_at__isnull=True)
        .order_by("store__code")
        .values_list("associate_id", "store__code", "reason", "paused_at")
    ):
        people[user_id].pauses.append((code, reason, paused_at))
    gold = GoldScore.objects.filter(associate_id__in=people, store_id__in=store_ids)
    for row in gold.values("associate_id", "store__code").annotate(events=Sum("events"), correct=Sum("correct")):
        person = people[row["associate_id"]]
        person.gold_by_store[row["store__code"]] = Rate(row["events"], row["correct"])
        person.gold.events += row["events"]
        person.gold.correct += row["correct"]
    for figures in associate_figures(stores=stores, since=since):
        if figures.user_id in people:
            agree, compared = figures.agreement_audits
            people[figures.user_id].audits = Rate(compared, agree)
    _agreement(people, store_ids=store_ids, since=since)
    _timing(people, store_ids=store_ids, since=since)
    return list(people.values())


def _agreement(people: dict[int, AssociateQuality], *, store_ids: list[int], since: dt.datetime) -> None:
    """Agreement with consensus: each merged snippet label (`source` consensus) lists the
    answers it merged (`provenance["answers"]`: annotation, associate, agreed)."""
    labels = Label.objects.filter(
        store_id__in=store_ids, source=Label.Source.CONSENSUS, created_at__gte=since
    ).values_list("provenance", flat=True)
    for provenance in labels.iterator():
        answers = provenance.get("answers") if isinstance(provenance, dict) else None
        for answer in answers or []:
            if not isinstance(answer, dict) or answer.get("associate") not in people:
                continue
            rate = people[answer["associate"]].agreement
            rate.events += 1
            rate.correct += answer.get("agreed") is True


def _timing(people: dict[int, AssociateQuality], *, store_ids: list[int], since: dt.datetime) -> None:
    """Tasks done, the median active time per task, and against the clips' length."""
    work = Annotation.objects.filter(associate_id__in=people, store_id__in=store_ids, created_at__gte=since)
    rows = work.annotate(clip_s=Sum("task__snippets__duration_s")).values_list(
        "associate_id", "active_seconds", "clip_s"
    )
    active: dict[int, list[float]] = {}
    timed: dict[int, list[tuple[float, float]]] = {}
    for user_id, seconds, clip_s in rows:
        active.setdefault(user_id, []).append(seconds)
        if clip_s:
            timed.setdefault(user_id, []).append((seconds, clip_s))
    for user_id, values in active.items():
        person = people[user_id]
        person.tasks_done = len(values)
        person.median_active_s = statistics.median(values)
        pairs = timed.get(user_id, [])
        person.timed_tasks = len(pairs)
        if pairs:
            person.median_clip_s = statistics.median(clip for _, clip in pairs)
            # The flag compares like with like: active time on the tasks that have clips.
            person.median_active_clip_s = statistics.median(seconds for seconds, _ in pairs)


def _low_first(value: float | None) -> tuple:
    return (value is None, value if value is not None else 0.0)


# The associates page's sort orders: what goes first, and how.
QUALITY_SORTS = {
    "gold": (
        "lowest gold accuracy (top of its interval) first",
        lambda p: _low_first(p.gold.interval and p.gold.interval[1]),
    ),
    "agreement": ("lowest agreement with consensus first", lambda p: _low_first(p.agreement.accuracy)),
    "audits": ("lowest agreement with audits first", lambda p: _low_first(p.audits.accuracy)),
    "speed": ("fastest first", lambda p: _low_first(p.median_active_s)),
    "paused": ("paused first", lambda p: (p.state != "paused", p.username)),
    "username": ("by name", lambda p: p.username),
}


def quality_sorted(people: list[AssociateQuality], sort: str) -> list[AssociateQuality]:
    """The page's order: `sort` (a key of QUALITY_SORTS), by name otherwise."""
    _, key = QUALITY_SORTS.get(sort, QUALITY_SORTS["username"])
    return sorted(people, key=key)
