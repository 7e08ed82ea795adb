"""`GET /api/v1/associates/` (API.md v1.1): associates of the caller's stores with their gold
accuracy and its Wilson 95 % interval, audits, agreement with consensus, median active time
and a speed flag; cursor-paginated."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from annotator.models import Annotation, AssociatePause, GoldScore, Label, Slot, Snippet, Task
from annotator.selectors import quality
from catalog import roles
from infra.stats import wilson_interval
from tests.annotator.work import add_tasks, work_queue
from tests.conftest import token_client
from tests.factories import CameraFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/associates/"


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        (0, 0, None),
        (10, 10, (0.7225, 1.0)),
        (8, 10, (0.4902, 0.9433)),
        (0, 10, (0.0, 0.2775)),
        (45, 50, (0.7864, 0.9565)),
    ],
)
def test_the_wilson_interval_at_95_percent_matches_known_values(successes, trials, expected):
    interval = wilson_interval(successes, trials)
    if expected is None:
        assert interval is None
    else:
        assert interval == pytest.approx(expected, abs=1e-4)


def _done_annotation(task: Task, user, *, seconds: float = 10.0) -> Annotation:
    slot = Slot.objects.filter(task=task, holder__isnull=True).first()
    Slot.objects.filter(pk=slot.pk).update(holder=user, state=Slot.State.DONE)
    return Annotation.objects.create(
        task=task,
        slot_id=slot.pk,
        store_id=task.store_id,
        associate=user,
        kind=task.kind,
        result={"action": "none", "boxes": []},
        submission_id=uuid.uuid4(),
        active_seconds=seconds,
    )


def _gold(annotation: Annotation, events: int, correct: int) -> None:
    GoldScore.objects.create(
        annotation=annotation,
        task=annotation.task,
        store_id=annotation.store_id,
        associate=annotation.associate,
        events=events,
        correct=correct,
    )


def _clip(store, n: int, seconds: float) -> Snippet:
    return Snippet.objects.create(
        store=store,
        camera=CameraFactory(store=store, code=f"Q{n}"),
        external_id=f"clip-{n}",
        started_at=timezone.now(),
        file="snippets/x.mp4",
        sha256="0" * 64,
        size_bytes=1,
        container="mp4",
        codec="h264",
        duration_s=seconds,
        fps=10,
        width=64,
        height=48,
        frame_count=20,
    )


def test_associates_carry_gold_with_its_interval_pause_and_speed(s001, s002, alice, dave, bob, carol):
    queue = work_queue(s001, alice, dave)
    tasks = add_tasks(queue, 12)
    for n, task in enumerate(tasks[:6]):
        task.snippets.add(_clip(s001, n, 2.0))
        _done_annotation(task, alice, seconds=0.8)  # 0.8 s on 2-second clips
    first = Annotation.objects.filter(associate=alice).first()
    _gold(first, 10, 8)
    AssociatePause.objects.create(store=s001, associate=alice, reason="Gold accuracy 8 of 10 events")
    for task in tasks[6:8]:
        _done_annotation(task, dave, seconds=30.0)
    response = token_client(carol).get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None
    by_name = {row["username"]: row for row in body["results"]}
    assert set(by_name) == {"alice", "dave"}  # bob works in S002 only
    row = by_name["alice"]
    assert row["stores"] == ["S001"] and row["state"] == "paused"
    assert row["paused"][0]["store"] == "S001" and "8 of 10" in row["paused"][0]["reason"]
    assert row["gold"]["events"] == 10 and row["gold"]["correct"] == 8 and row["gold"]["accuracy"] == 0.8
    assert row["gold"]["ci_low"] == pytest.approx(0.4902, abs=1e-4)
    assert row["gold"]["ci_high"] == pytest.approx(0.9433, abs=1e-4)
    assert row["median_active_s"] == pytest.approx(0.8) and row["tasks_done"] == 6
    assert row["speed"]["flagged"] is True and "nobody can watch a clip that fast" in row["speed"]["reason"]
    assert by_name["dave"]["state"] == "active" and by_name["dave"]["speed"]["flagged"] is False
    assert by_name["dave"]["gold"] == {"events": 0, "correct": 0, "accuracy": None, "ci_low": None, "ci_high": None}


def test_agreement_comes_from_the_consensus_labels_answers(s001, alice, dave, carol):
    queue = work_queue(s001, alice, dave)
    tasks = add_tasks(queue, 3)
    for task in tasks:
        a = _done_annotation(task, alice)
        Label.objects.create(
            store=s001,
            kind=Label.Kind.SNIPPET,
            task=task,
            annotation=a,
            associate=alice,
            created_at=timezone.now(),
            verdict="annotated",
            source=Label.Source.CONSENSUS,
            provenance={
                "answers": [
                    {"annotation": str(a.pk), "associate": alice.pk, "agreed": True},
                    {"annotation": str(uuid.uuid4()), "associate": dave.pk, "agreed": task != tasks[0]},
                ]
            },
        )
    rows = {row["username"]: row for row in token_client(carol).get(URL).json()["results"]}
    assert rows["alice"]["agreement"]["compared"] == 3 and rows["alice"]["agreement"]["rate"] == 1.0
    assert (rows["dave"]["agreement"]["agreed"], rows["dave"]["agreement"]["compared"]) == (2, 3)
    assert rows["dave"]["agreement"]["ci_high"] == pytest.approx(wilson_interval(2, 3)[1])


def test_the_list_pages_with_a_cursor(s001, carol, monkeypatch):
    monkeypatch.setattr("annotator.api.associates.PAGE_SIZE", 2)
    for n in range(5):
        UserFactory(username=f"worker{n}", role=roles.ASSOCIATE, stores=[s001])
    client = token_client(carol)
    names, url = [], URL
    while url:
        body = client.get(url).json()
        names += [row["username"] for row in body["results"]]
        url = f"{URL}?cursor={body['next']}" if body["next"] else None
    assert names == [f"worker{n}" for n in range(5)]
    bad = client.get(f"{URL}?cursor=forged")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"


def test_the_list_by_role(s001, s002, alice, sam, s001_integration, api):
    assert api.get(URL).status_code == 401
    assert token_client(alice).get(URL).status_code == 403
    assert token_client(s001_integration).get(URL).status_code == 403
    assert token_client(sam).get(URL).json()["results"] == []  # alice is not of S002


def test_the_associates_page_sorts_and_explains(s001, alice, dave, carol):
    from tests.conftest import session_client

    queue = work_queue(s001, alice, dave)
    tasks = add_tasks(queue, 2)
    _gold(_done_annotation(tasks[0], alice), 10, 10)
    _gold(_done_annotation(tasks[1], dave), 10, 2)
    page = session_client(carol).get("/supervise/associates/?sort=gold").content.decode()
    assert page.index('data-associate="dave" data-state') < page.index('data-associate="alice" data-state')
    assert "95 % Wilson interval" in page and "nobody can watch a clip that fast" in page
    assert quality.QUALITY_SORTS.keys() >= {"gold", "agreement", "speed", "paused"}
    assert dt.timedelta(days=30) == quality.WINDOW
