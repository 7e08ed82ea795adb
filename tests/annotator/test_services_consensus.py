"""Consensus on snippets (annotator.services.consensus): N answers merge into one label, or
into one adjudication task whose answer is the label."""

import json
import uuid
import zipfile
from fractions import Fraction
from html import unescape as html_unescape

import pytest
from django.test import Client
from django.urls import reverse

from annotator.models import Annotation, Label, QueueMembership, Task
from annotator.services.consensus import agreement, merge
from annotator.services.datasets import dataset_build, dataset_create
from annotator.services.review import annotation_reject
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog import roles
from infra.errors import LoupeError
from tests.annotator.screens import clip_snippet
from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(s001, alice, dave):
    """Three associates of S001, which asks for three answers per snippet."""
    s001.snippet_overlap = 3
    s001.save(update_fields=["snippet_overlap"])
    eve = UserFactory(username="eve", role=roles.ASSOCIATE, stores=[s001])
    return [alice, dave, eve]


@pytest.fixture
def task(trio, s001):
    return clip_snippet(s001, "clip-consensus", annotate=True, reuse_redaction=True).task


def answer(associate, task, result) -> Annotation:
    lease = task_claim(associate=associate)
    assert lease is not None and lease.task.pk == task.pk
    return task_submit(associate=associate, task_id=task.pk, result=result, submission_id=uuid.uuid4())


def take(sku="SKU-0001", *boxes, action="take") -> dict:
    return {"action": action, "sku": sku, "boxes": list(boxes)}


def hand(x, y=10, w=40, h=40, frame=0) -> dict:
    return {"frame": frame, "label": "hand", "x": x, "y": y, "w": w, "h": h}


def exact_iou(a: dict, b: dict) -> Fraction:
    inter_w = max(0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    inter_h = max(0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = inter_w * inter_h
    return Fraction(inter, a["w"] * a["h"] + b["w"] * b["h"] - inter)


def test_an_overlap_store_queues_each_snippet_for_n_distinct_associates(task):
    assert task.overlap == 3
    assert task.slots.count() == 3


def test_two_of_three_agree_the_action_wins_and_the_boxes_are_averaged(task, trio):
    alice, dave, eve = trio
    first = answer(alice, task, take("SKU-0001", hand(10)))
    second = answer(dave, task, take("SKU-0001", hand(14)))
    assert not Label.objects.exists()  # answers alone are no label
    third = answer(eve, task, take("SKU-0002", hand(12, 12), action="put_back"))

    (label,) = Label.objects.all()
    assert label.source == "consensus"
    assert label.task_id == task.pk and label.annotation_id == third.pk
    # Corners averaged, rounded half up: left (10+14+12)/3 = 12, top 32/3 -> 11,
    # right (50+54+52)/3 = 52, bottom 152/3 -> 51.
    assert label.human == {
        "action": "take",
        "sku": "SKU-0001",
        "boxes": [{"frame": 0, "label": "hand", "x": 12, "y": 11, "w": 40, "h": 40}],
        "tracks": [],
    }
    # Two of three answers say take SKU-0001 and found the merged box.
    assert label.agreement == pytest.approx(0.6667)
    assert label.provenance["answers"] == [
        {"annotation": str(first.pk), "associate": alice.pk, "agreed": True},
        {"annotation": str(second.pk), "associate": dave.pk, "agreed": True},
        {"annotation": str(third.pk), "associate": eve.pk, "agreed": False},
    ]
    assert not Task.objects.filter(purpose="adjudication").exists()


def test_one_associate_never_answers_two_slots_of_a_task(task, trio):
    alice, dave, _ = trio
    answer(alice, task, take())
    assert task_claim(associate=alice) is None
    answer(dave, task, take())
    assert task_claim(associate=dave) is None
    assert task.slots.filter(holder__isnull=False).values("holder").distinct().count() == 2


def test_three_way_disagreement_opens_one_adjudication_and_its_answer_is_the_label(task, trio, carol):
    alice, dave, eve = trio
    answers = [
        answer(alice, task, take("SKU-0001")),
        answer(dave, task, take("SKU-0002")),
        answer(eve, task, take("SKU-0003", action="put_back")),
    ]
    assert not Label.objects.exists()
    (adjudication,) = Task.objects.filter(purpose="adjudication")
    assert adjudication.adjudicates_id == task.pk
    assert adjudication.queue.supervisors_only and adjudication.queue.name == "adjudication"
    assert adjudication.due_at == task.due_at
    shown = adjudication.payload["adjudication"]
    assert shown["disputed"] == ["action"]
    assert [a["annotation"] for a in shown["answers"]] == [str(a.pk) for a in answers]
    assert [a["username"] for a in shown["answers"]] == ["alice", "dave", "eve"]
    assert [a["result"]["sku"] for a in shown["answers"]] == ["SKU-0001", "SKU-0002", "SKU-0003"]
    # Associates never get it; the store's supervisor does, with the snippet's payload.
    assert task_claim(associate=alice) is None
    lease = task_claim(associate=carol)
    assert lease.task.pk == adjudication.pk
    assert lease.task.payload["snippet"] == task.payload["snippet"]
    # "Can't tell" is no decision.
    with pytest.raises(LoupeError) as error:
        task_submit(associate=carol, task_id=adjudication.pk, result=take(action="unsure"), submission_id=uuid.uuid4())
    assert error.value.field == "action"
    assert not Label.objects.exists()

    decided = task_submit(associate=carol, task_id=adjudication.pk, result=take("SKU-0002"), submission_id=uuid.uuid4())

    (label,) = Label.objects.all()
    assert (label.source, label.annotation_id, label.associate_id) == ("adjudication", decided.pk, carol.pk)
    assert label.human["sku"] == "SKU-0002"
    assert label.agreement == pytest.approx(0.3333)
    assert [a["agreed"] for a in label.provenance["answers"]] == [False, True, False]
    assert label.provenance["adjudicates"] == str(task.pk)
    assert Task.objects.filter(purpose="adjudication").count() == 1


def test_a_box_just_above_iou_one_half_is_merged(task, trio):
    alice, dave, eve = trio
    # Same size, shifted by 33 px: intersection 67·100, union 2·100·100 − 6700.
    a, b = hand(0, 0, 100, 100), hand(33, 0, 100, 100)
    assert exact_iou(a, b) == Fraction(6700, 13300) > Fraction(1, 2)
    answer(alice, task, take("SKU-0001", a))
    answer(dave, task, take("SKU-0001", b))
    answer(eve, task, take("SKU-0001"))

    (label,) = Label.objects.all()
    assert label.source == "consensus"
    assert label.human["boxes"] == [{"frame": 0, "label": "hand", "x": 17, "y": 0, "w": 100, "h": 100}]
    # All three agree on the action; two of three found the box.
    assert label.agreement == pytest.approx(0.6667)


def test_a_box_just_below_iou_one_half_goes_to_adjudication(task, trio):
    alice, dave, eve = trio
    a, b = hand(0, 0, 100, 100), hand(34, 0, 100, 100)
    assert exact_iou(a, b) == Fraction(6600, 13400) < Fraction(1, 2)
    answer(alice, task, take("SKU-0001", a))
    answer(dave, task, take("SKU-0001", b))
    answer(eve, task, take("SKU-0001"))

    assert not Label.objects.exists()
    (adjudication,) = Task.objects.filter(adjudicates=task)
    assert adjudication.payload["adjudication"]["disputed"] == ["boxes"]


def test_iou_of_exactly_one_half_matches():
    a, b = hand(0, 0, 100, 100), hand(0, 0, 50, 100)
    assert exact_iou(a, b) == Fraction(1, 2)
    merged = merge(results=[take("SKU-0001", a), take("SKU-0001", b), take("SKU-0001")], frame_count=10)
    assert merged.result["boxes"] == [{"frame": 0, "label": "hand", "x": 0, "y": 0, "w": 75, "h": 100}]


def test_tracks_are_matched_frame_by_frame_against_boxes():
    """One answer draws a track of two keyframes, the others a box on each frame it covers:
    the merge is the same per-frame boxes, given back as a track."""
    track = {
        "label": "hand",
        "keyframes": [
            {"frame": 0, "x": 0, "y": 0, "w": 20, "h": 20, "outside": False},
            {"frame": 2, "x": 4, "y": 0, "w": 20, "h": 20, "outside": False},
            {"frame": 3, "x": 4, "y": 0, "w": 20, "h": 20, "outside": True},
        ],
    }
    boxes = [hand(0, 0, 20, 20, frame=0), hand(2, 0, 20, 20, frame=1), hand(4, 0, 20, 20, frame=2)]
    results = [take("SKU-0001") | {"tracks": [track]}, take("SKU-0001", *boxes), take("SKU-0001", *boxes)]
    merged = merge(results=results, frame_count=10)
    assert merged.disputed == []
    assert merged.result["boxes"] == []
    (merged_track,) = merged.result["tracks"]
    assert [k["frame"] for k in merged_track["keyframes"]] == [0, 2, 3]
    assert merged_track["keyframes"][-1]["outside"] is True


def test_unsure_is_no_vote(task, trio):
    merged = merge(results=[take(action="unsure"), take(action="unsure"), take()], frame_count=10)
    assert merged.result is None and merged.disputed == ["action"]


def test_the_feed_and_a_dataset_carry_only_the_merged_label(task, trio, s001, carol, s001_integration):
    alice, dave, eve = trio
    answer(alice, task, take("SKU-0001", hand(10)))
    answer(dave, task, take("SKU-0001", hand(12)))
    answer(eve, task, take("SKU-0001", hand(11)))
    assert Annotation.objects.filter(task=task).count() == 3

    feed = token_client(s001_integration).get("/api/v1/labels/", {"store": "S001"}).json()["results"]
    assert [(label["source"], label["agreement"]) for label in feed] == [("consensus", 1.0)]
    assert [a["agreed"] for a in feed[0]["provenance"]["answers"]] == [True, True, True]

    dataset = dataset_create(name="consensus", format="jsonl", filters={}, by=carol)
    built = dataset_build(dataset_id=dataset.pk)
    lines = [json.loads(line) for line in built.file.open("rb").read().splitlines()]
    assert [(line["source"], line["agreement"]) for line in lines] == [("consensus", 1.0)]
    coco = dataset_build(dataset_id=dataset_create(name="c", format="coco", filters={}, by=carol).pk)
    with zipfile.ZipFile(coco.file.open("rb")) as archive:
        instances = json.loads(archive.read("annotations/instances_default.json"))
    assert [a["attributes"] for a in instances["annotations"]] == [{"action": "take", "agreement": 1.0}]


def test_an_overlap_one_store_labels_each_answer_at_once(s001, alice):
    task = clip_snippet(s001, "clip-single", annotate=True, reuse_redaction=True).task
    assert task.overlap == 1
    answer(alice, task, take("SKU-0001"))
    (label,) = Label.objects.all()
    assert (label.source, label.agreement) == ("associate", None)
    assert "answers" not in label.provenance


def test_the_adjudication_screen_shows_the_answers_side_by_side(task, trio, carol):
    alice, dave, eve = trio
    answer(alice, task, take("SKU-0001", hand(10)))
    answer(dave, task, take("SKU-0002", hand(200, frame=3)))
    answer(eve, task, take("SKU-0003", action="put_back"))
    client = Client()
    client.force_login(carol)

    panel = client.get(reverse("annotator:supervise_panel"), {"name": "adjudications"}).content.decode()
    assert 'data-kpi="adjudications_waiting">1<' in panel
    escalations = client.get(reverse("annotator:supervise_panel"), {"name": "escalations"}).content.decode()
    assert 'data-kpi="escalations_waiting">0<' in escalations  # visits only

    opened = client.post(reverse("annotator:claim"))
    adjudication = Task.objects.get(adjudicates=task)
    assert opened["Location"] == reverse("annotator:task", args=[adjudication.pk])
    html = client.get(opened["Location"]).content.decode()
    assert 'id="wb-answers-card"' in html and 'id="wb-answers-canvas"' in html
    for n, name in enumerate(["alice", "dave", "eve"], 1):
        assert f'data-answer="{n}"' in html and f"swatch a{n}" in html and f"<strong>{name}</strong>" in html
    assert 'data-value="unsure"' not in html  # an adjudication decides
    shown = json.loads(html_unescape(html.split('<template id="wb-answers">')[1].split("</template>")[0]))
    assert [a["username"] for a in shown] == ["alice", "dave", "eve"]
    assert shown[1]["boxes"] == [hand(200, frame=3)]
    # A plain snippet screen has none of it.
    assert "wb-answers" not in client.get(reverse("annotator:work")).content.decode()


def test_through_the_work_api_three_answers_then_the_supervisor_decides(task, trio, carol, s001_integration):
    """The same rules through the doors headless clients use: POST next, POST submit."""
    for associate, sku in zip(trio, ("SKU-0001", "SKU-0002", "SKU-0003"), strict=True):
        client = token_client(associate)
        claimed = client.post("/api/v1/tasks/next/", {}, format="json")
        assert claimed.status_code == 200 and claimed.json()["task"]["id"] == str(task.pk)
        body = {"result": take(sku), "submission_id": str(uuid.uuid4())}
        assert client.post(f"/api/v1/tasks/{task.pk}/submit/", body, format="json").status_code == 200
    feed = token_client(s001_integration).get("/api/v1/labels/", {"store": "S001"}).json()["results"]
    assert feed == []

    supervisor = token_client(carol)
    claimed = supervisor.post("/api/v1/tasks/next/", {}, format="json").json()["task"]
    assert claimed["payload"]["adjudication"]["task"] == str(task.pk)
    assert [a["result"]["sku"] for a in claimed["payload"]["adjudication"]["answers"]] == [
        "SKU-0001",
        "SKU-0002",
        "SKU-0003",
    ]
    body = {"result": take("SKU-0003"), "submission_id": str(uuid.uuid4())}
    assert supervisor.post(f"/api/v1/tasks/{claimed['id']}/submit/", body, format="json").status_code == 200

    feed = token_client(s001_integration).get("/api/v1/labels/", {"store": "S001"}).json()["results"]
    assert [(label["source"], label["agreement"], label["human"]["sku"]) for label in feed] == [
        ("adjudication", 0.3333, "SKU-0003")
    ]


def test_a_rejected_answer_of_a_task_in_adjudication_leaves_it_there(task, trio, s001, carol):
    alice, dave, eve = trio
    answer(alice, task, take("SKU-0001"))
    answer(dave, task, take("SKU-0002"))
    rejected = answer(eve, task, take("SKU-0003"))
    annotation_reject(supervisor=carol, annotation=rejected, comment="Wrong product.")
    fay = UserFactory(username="fay", role=roles.ASSOCIATE, stores=[s001])
    QueueMembership.objects.create(queue=task.queue, user=fay)

    answer(fay, task, take("SKU-0001"))  # now two of three agree, but a supervisor decides

    assert not Label.objects.exists()
    assert Task.objects.filter(adjudicates=task).count() == 1


def test_agreement_is_the_mean_of_each_answers_action_and_box_score():
    label = take("SKU-0001", hand(0, frame=0), hand(0, frame=1))
    results = [take("SKU-0001", hand(0, frame=0)), take("SKU-0001", hand(2, frame=1)), take("SKU-0002")]
    score, agreed = agreement(results=results, label=label, frame_count=10)
    assert agreed == [True, True, False]
    assert score == pytest.approx((0.5 + 0.5 + 0) / 3, abs=1e-4)
    assert agreement(results=[take(), take()], label=take(), frame_count=10) == (1.0, [True, True])
