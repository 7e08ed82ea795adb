"""The associates page: per associate of the supervisor's stores, tasks done, time per task,
releases, rejected work, corrections and agreement with others and with audits."""

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as dataclasses_field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from annotator.models import CORRECTING_VERDICTS, Annotation, Label, Queue, TaskExclusion
from annotator.selectors.annotations import cancelled_slots
from annotator.selectors.console import console_cached
from catalog import roles
from catalog.access import store_ids
from infra.stats import PercentileCont, grouped_percentiles


@dataclass
class AssociateFigures:
    user_id: int
    username: str
    stores: list[str]
    tasks_done: int = 0
    active_s: float = 0.0
    # {kind: median active seconds per task}
    median_s_by_kind: dict = dataclasses_field(default_factory=dict)
    releases: int = 0
    recent_release_reasons: list = dataclasses_field(default_factory=list)
    rejected: int = 0
    corrections: int = 0
    # (agreeing, compared) pairs of labels on one event: with other associates on the same
    # task (overlap), and with a later audit or dispute review of the same event.
    agreement_others: tuple[int, int] = (0, 0)
    agreement_audits: tuple[int, int] = (0, 0)

    @staticmethod
    def _share(pair: tuple[int, int]) -> float | None:
        return pair[0] / pair[1] if pair[1] else None

    @property
    def agreement_others_share(self) -> float | None:
        return self._share(self.agreement_others)

    @property
    def agreement_audits_share(self) -> float | None:
        return self._share(self.agreement_audits)


AGREEMENT_LABEL_LIMIT = 50_000
AGREEMENT_EVENT_CHUNK = 1_000


def associates_of(*, stores) -> QuerySet:
    """Active associates granted at least one of `stores`."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.ASSOCIATE, storeaccess__store__in=stores)
        .distinct()
        .order_by("username")
    )


def associate_figures(*, stores, since: dt.datetime) -> list[AssociateFigures]:
    """The associates page: per associate of `stores`, their work on those stores since `since`.
    Cached per window length in minutes (`console_cached`)."""
    minutes = round((timezone.now() - since).total_seconds() / 60)
    return console_cached(
        f"associates:{minutes}", stores=stores, compute=lambda: _associate_figures(stores=stores, since=since)
    )


def _associate_figures(*, stores, since: dt.datetime) -> list[AssociateFigures]:
    """One grouped query per figure. The window's annotations and labels (a week of all stores
    is a few hundred thousand of each) are read from covering indexes, never joined to their
    tasks: `annotation_associate_time`, `label_window_correction`, `label_window_event`."""
    people = {
        user.pk: AssociateFigures(user_id=user.pk, username=user.get_username(), stores=[])
        for user in associates_of(stores=stores)
    }
    if not people:
        return []
    for user_id, code in (
        get_user_model()
        .objects.filter(pk__in=people, storeaccess__store__in=stores)
        .values_list("pk", "storeaccess__store__code")
        .order_by("storeaccess__store__code")
    ):
        people[user_id].stores.append(code)
    ids = store_ids(stores)
    _work(people, stores=stores, store_ids=ids, since=since)
    releases = TaskExclusion.objects.filter(
        task__store__in=stores, created_at__gte=since, cause=TaskExclusion.Cause.RELEASED, user_id__in=people
    )
    for row in releases.values("user_id").annotate(n=Count("id")):
        people[row["user_id"]].releases = row["n"]
    for user_id, reason in releases.order_by("-created_at").values_list("user_id", "reason")[:500]:
        reasons = people[user_id].recent_release_reasons
        if len(reasons) < 3 and reason:
            reasons.append(reason)
    corrections = Label.objects.filter(
        store_id__in=ids, created_at__gte=since, associate_id__in=people, verdict__in=CORRECTING_VERDICTS
    )
    for row in corrections.values("associate_id").annotate(n=Count("created_at")):
        people[row["associate_id"]].corrections = row["n"]
    _agreement(people, store_ids=ids, since=since)
    return list(people.values())


def _work(people: dict[int, AssociateFigures], *, stores, store_ids: list[int], since: dt.datetime) -> None:
    """Tasks done, active time and the median time per task by kind (rejected work left out),
    and rejected work, of the people on the stores' queues since `since`.

    The store is the task's, kept on the annotation and in the covering index, so the window
    is read from that index alone; when the stores hold every queue there is (so every
    annotation's store is theirs), the test is left out. Rejected work is the few annotations whose slot is
    cancelled (`slot_cancelled`): a hashed NOT IN, not a join of every annotation to its slot.
    """
    queues = Queue.objects.annotate(mine=ExpressionWrapper(Q(store__in=stores), output_field=BooleanField()))
    queue_rows = list(queues.values_list("pk", "kind", "mine"))
    annotations = Annotation.objects.filter(created_at__gte=since, associate_id__in=people).order_by()
    if not all(mine for _, _, mine in queue_rows):
        annotations = annotations.filter(store_id__in=store_ids)
    cancelled = cancelled_slots()
    accepted = annotations.exclude(slot__in=cancelled)
    # An annotation's kind is its task's, which is its queue's. PostgreSQL takes the median of
    # each queue kind in the same pass (in the index's associate order: no sort by kind) and
    # counts annotations of any other kind, whose medians (none, unless a task changed kind)
    # take a second query; SQLite takes every median in Python (`grouped_percentiles`).
    kinds = sorted({kind for _, kind, mine in queue_rows if mine})
    figures = {"n": Count("created_at"), "active": Sum("active_seconds")}
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        figures["other_kinds"] = Count("created_at", filter=~Q(kind__in=kinds))
        for index, kind in enumerate(kinds):
            figures[f"median_{index}"] = PercentileCont(F("active_seconds"), 0.5, filter=Q(kind=kind))
    rows = list(accepted.values("associate_id").annotate(**figures))
    medians = {
        (row["associate_id"], kind): row[f"median_{index}"]
        for row in rows
        for index, kind in enumerate(kinds)
        if row.get(f"median_{index}") is not None
    }
    for row in rows:
        people[row["associate_id"]].tasks_done = row["n"]
        people[row["associate_id"]].active_s = row["active"] or 0.0
    rest = accepted.exclude(kind__in=kinds) if postgresql else accepted
    if not postgresql or any(row["other_kinds"] for row in rows):
        for kind in rest.values_list("kind", flat=True).distinct():
            for user_id, values in grouped_percentiles(
                rest.filter(kind=kind), F("associate_id"), F("active_seconds"), (0.5,)
            ).items():
                medians[user_id, kind] = values[0.5]
    for (user_id, kind), median in sorted(medians.items(), key=lambda item: item[0][1]):
        people[user_id].median_s_by_kind[kind] = median
    for row in annotations.filter(slot__in=cancelled).values("associate_id").annotate(n=Count("created_at")):
        people[row["associate_id"]].rejected = row["n"]


def _agreement(people: dict[int, AssociateFigures], *, store_ids: list[int], since: dt.datetime) -> None:
    """Pairs of labels on the same event by two people: same task (overlap) → agreement with
    others; the other from an audit or dispute task → agreement with audits. Two labels agree
    when their verdict and the human's reading (`human`) are the same. Only checked labels
    compare: a confirm of an event nobody opened agrees with anything the model said.

    The events labelled more than once in the window come from `label_window_event` in one
    grouped query (run once, not once per parallel worker as a subquery would be); their
    labels, of any time and store, through `label_event`."""
    shared = sorted(
        Label.objects.filter(store_id__in=store_ids, created_at__gte=since, event_id__isnull=False)
        .values("event_id")
        .annotate(n=Count("created_at"))
        .filter(n__gt=1)
        .values_list("event_id", flat=True)
    )
    # Their labels in (event, seq) order, at most AGREEMENT_LABEL_LIMIT: one query per chunk of
    # events, in the same order (a UUID sorts in Python as in the database).
    rows: list[tuple] = []
    for start in range(0, len(shared), AGREEMENT_EVENT_CHUNK):
        if len(rows) >= AGREEMENT_LABEL_LIMIT:
            break
        rows += (
            Label.objects.filter(event_id__in=shared[start : start + AGREEMENT_EVENT_CHUNK], checked=True)
            .order_by("event_id", "seq")
            .values_list("event_id", "task_id", "task__purpose", "associate_id", "verdict", "human")[
                : AGREEMENT_LABEL_LIMIT - len(rows)
            ]
        )
    by_event: dict = {}
    for row in rows:
        by_event.setdefault(row[0], []).append(row)
    tallies: dict[tuple[int, str], list[int]] = {}
    for labels in by_event.values():
        for _, task_id, purpose, associate_id, verdict, human in labels:
            if associate_id not in people or purpose in ("audit", "dispute"):
                continue
            for _, other_task, other_purpose, other_id, other_verdict, other_human in labels:
                if other_id == associate_id:
                    continue
                if other_task == task_id:
                    key = "others"
                elif other_purpose in ("audit", "dispute"):
                    key = "audits"
                else:
                    continue
                tally = tallies.setdefault((associate_id, key), [0, 0])
                tally[0] += verdict == other_verdict and human == other_human
                tally[1] += 1
    for (associate_id, key), (agree, total) in tallies.items():
        setattr(people[associate_id], f"agreement_{key}", (agree, total))
