"""Gold snippets: made by a supervisor from an annotation they trust, served like real work,
scored by action, sku and boxes at IoU ≥ 0.5, and never a label."""

import uuid

import pytest
from django.urls import reverse

from annotator.gold_snippet import boxes_match, iou
from annotator.models import GoldScore, GoldTask, Label, QueueMembership, Task
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import Store
from tests.annotator.work import add_tasks, work_queue
from tests.conftest import session_client, token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/gold/snippets/"
BOX = {"frame": 1, "label": "hand", "x": 10, "y": 10, "w": 100, "h": 100}
TRUTH = {"action": "take", "sku": "SKU-0001", "boxes": [BOX]}


def shifted(dx: int) -> dict:
    return BOX | {"x": BOX["x"] + dx}


def test_iou_just_above_and_below_a_half():
    assert iou(BOX, shifted(33)) == pytest.approx(6700 / 13300)  # 0.504
    assert iou(BOX, shifted(34)) == pytest.approx(6600 / 13400)  # 0.493
    assert boxes_match([BOX], [shifted(33)]) == (1, 0, 0)
    assert boxes_match([BOX], [shifted(34)]) == (0, 1, 1)
    assert boxes_match([BOX], [BOX | {"frame": 2}]) == (0, 1, 1)
    assert boxes_match([BOX], [BOX, BOX]) == (1, 0, 1)


@pytest.fixture
def source(s001, alice):
    """An annotation of a snippet task by alice: her answer is TRUTH."""
    queue = work_queue(s001, alice, name="Clips")
    add_tasks(queue, 6)
    lease = task_claim(associate=alice)
    return task_submit(associate=alice, task_id=lease.task.pk, result=TRUTH, submission_id=uuid.uuid4())


def test_a_supervisor_makes_a_gold_snippet_from_an_annotation(source, carol):
    response = token_client(carol).post(URL, {"annotation": str(source.pk)}, format="json")
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["task_id"])
    assert task.payload == source.task.payload and task.purpose == source.task.purpose
    assert GoldTask.objects.get(task=task).truth == TRUTH | {"boxes": [BOX]}
    again = token_client(carol).post(URL, {"annotation": str(source.pk)}, format="json")
    assert again.status_code == 201  # another gold copy of the same clip is allowed
    unknown = token_client(carol).post(URL, {"annotation": str(uuid.uuid4())}, format="json")
    assert unknown.status_code == 404


def test_gold_snippets_by_role_and_bad_input(source, s002, alice, sam, api, carol):
    body = {"annotation": str(source.pk)}
    assert api.post(URL, body, format="json").status_code == 401
    assert token_client(alice).post(URL, body, format="json").status_code == 403
    assert token_client(sam).post(URL, body, format="json").status_code == 404
    for bad in ({}, {"annotation": "nope"}, {"annotation": ["x"]}):
        response = token_client(carol).post(URL, bad, format="json")
        assert response.status_code == 400 and response.json()["error"]["field"] == "annotation"
    assert not GoldTask.objects.exists()


def test_an_unsure_answer_cannot_become_gold(s001, alice, carol):
    queue = work_queue(s001, alice, name="Clips")
    add_tasks(queue, 2)
    lease = task_claim(associate=alice)
    unsure = task_submit(
        associate=alice,
        task_id=lease.task.pk,
        result={"action": "unsure", "sku": "SKU-0001", "boxes": []},
        submission_id=uuid.uuid4(),
    )
    response = token_client(carol).post(URL, {"annotation": str(unsure.pk)}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_gold_material"


@pytest.mark.parametrize(
    ("answer", "right", "why"),
    [
        (TRUTH, True, "right"),
        (TRUTH | {"boxes": [shifted(33)]}, True, "right"),
        (TRUTH | {"boxes": [shifted(34)]}, False, "boxes: 0 matched, 1 missing, 1 extra"),
        (TRUTH | {"action": "put_back"}, False, "wrong action"),
        (TRUTH | {"sku": "SKU-0002"}, False, "wrong product"),
        (TRUTH | {"action": "unsure"}, False, "can't tell"),
    ],
)
def test_a_gold_snippet_answer_is_scored_and_makes_no_label(source, carol, dave, answer, right, why):
    Store.objects.filter(pk=source.store_id).update(gold_share=0.5)
    QueueMembership.objects.create(queue=source.task.queue, user=dave)
    gold = token_client(carol).post(URL, {"annotation": str(source.pk)}, format="json").json()
    lease = task_claim(associate=dave)
    assert str(lease.task.pk) == gold["task_id"]
    labels = Label.objects.count()
    annotation = task_submit(associate=dave, task_id=lease.task.pk, result=answer, submission_id=uuid.uuid4())
    score = GoldScore.objects.get(annotation=annotation)
    assert (score.events, score.correct) == (1, int(right))
    assert score.details[0]["why"] == why
    assert Label.objects.count() == labels


def test_the_review_page_offers_make_gold_to_the_stores_supervisors_only(source, carol, sam, alice):
    page = session_client(carol).get(reverse("annotator:annotation", args=[source.pk])).content.decode()
    url = reverse("annotator:gold_from_annotation", args=[source.pk])
    assert url in page
    assert session_client(sam).post(url).status_code == 404
    assert session_client(alice).post(url).status_code == 403
    assert not GoldTask.objects.exists()
    assert session_client(carol).post(url).status_code == 302
    assert GoldTask.objects.count() == 1
