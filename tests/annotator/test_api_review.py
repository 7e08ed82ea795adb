"""`POST /api/v1/annotations/{id}/reject/`: the console's reject through the API, one service
behind both; bad input, another store and a second reject change nothing."""

import uuid

import pytest
from django.urls import reverse

from annotator.models import QueueMembership, Rejection, Slot, Task, TaskExclusion
from annotator.services.review import annotation_reject
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import ControlAction
from infra.errors import LoupeError
from tests.annotator.screens import clip_snippet
from tests.conftest import token_client

pytestmark = pytest.mark.django_db
BOX = {"frame": 2, "label": "hand", "x": 4, "y": 4, "w": 10, "h": 8}
RESULT = {"action": "take", "sku": "SKU-0001", "boxes": [BOX]}


@pytest.fixture
def annotation(s001, alice, dave):
    task = clip_snippet(s001, "clip-review", annotate=True, reuse_redaction=True).task
    for user in (alice, dave):
        QueueMembership.objects.get_or_create(queue=task.queue, user=user)
    lease = task_claim(associate=alice)
    assert lease.task.pk == task.pk
    return task_submit(associate=alice, task_id=task.pk, result=RESULT, submission_id=uuid.uuid4())


def url(annotation) -> str:
    return reverse("api-annotation-reject", kwargs={"annotation_id": annotation.pk})


def unchanged(annotation) -> bool:
    task = Task.objects.get(pk=annotation.task_id)
    return (
        task.status == Task.Status.DONE
        and Slot.objects.get(pk=annotation.slot_id).state == Slot.State.DONE
        and not Rejection.objects.exists()
        and not ControlAction.objects.filter(action="annotation_reject").exists()
    )


def test_a_supervisor_rejects_through_the_api_and_the_task_goes_to_someone_else(carol, alice, dave, annotation):
    comment = {"comment": "The hand box is on the wrong frame."}
    response = token_client(carol).post(url(annotation), comment, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "annotation": str(annotation.pk),
        "task": str(annotation.task_id),
        "status": "rejected",
        "comment": "The hand box is on the wrong frame.",
    }
    rejection = Rejection.objects.get()
    assert (rejection.annotation, rejection.associate, rejection.supervisor) == (annotation, alice, carol)
    assert rejection.dismissed_at is None
    task = Task.objects.get(pk=annotation.task_id)
    assert (task.status, task.annotations_done) == (Task.Status.OPEN, 0)
    assert TaskExclusion.objects.get(task=task, user=alice).cause == TaskExclusion.Cause.REJECTED
    assert task_claim(associate=alice) is None
    assert task_claim(associate=dave).task.pk == task.pk


def test_rejecting_twice_is_a_conflict(carol, annotation):
    client = token_client(carol)
    assert client.post(url(annotation), {"comment": "wrong sku"}, format="json").status_code == 200

    again = client.post(url(annotation), {"comment": "still wrong"}, format="json")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_rejected"
    assert Rejection.objects.get().comment == "wrong sku"
    assert Slot.objects.filter(task_id=annotation.task_id, state=Slot.State.OPEN).count() == 1


def test_another_stores_supervisor_gets_404_and_nothing_changes(sam, annotation):
    response = token_client(sam).post(url(annotation), {"comment": "no"}, format="json")

    assert response.status_code == 404
    assert unchanged(annotation)


def test_an_unknown_annotation_is_404(carol, annotation):
    response = token_client(carol).post(
        reverse("api-annotation-reject", kwargs={"annotation_id": uuid.uuid4()}), {"comment": "x"}, format="json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["alice", "s001_integration"])
def test_anyone_but_a_supervisor_is_forbidden(request, annotation, who):
    response = token_client(request.getfixturevalue(who)).post(url(annotation), {"comment": "x"}, format="json")

    assert response.status_code == 403
    assert unchanged(annotation)


def test_without_credentials_it_is_401(api, annotation):
    assert api.post(url(annotation), {"comment": "x"}, format="json").status_code == 401
    assert unchanged(annotation)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"comment": "x" * 10_000}, "comment_too_long"),
        ({"comment": "   "}, "comment_required"),
        ({"comment": ""}, "comment_required"),
        ({}, "required"),
        ({"comment": "bad\x00byte"}, "null_characters_not_allowed"),
        ({"comment": 12}, None),
    ],
)
def test_bad_comments_are_400_naming_the_field(carol, annotation, body, code):
    response = token_client(carol).post(url(annotation), body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "comment"
    if code:
        assert error["code"] == code
    assert unchanged(annotation)


def test_a_lone_surrogate_in_the_comment_is_400(carol, annotation):
    raw = '{"comment": "half a pair \\ud800"}'
    response = token_client(carol).post(url(annotation), raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "comment"
    assert unchanged(annotation)


def test_a_comment_of_2000_characters_is_kept_whole(carol, annotation):
    comment = "é" * 2000

    assert token_client(carol).post(url(annotation), {"comment": comment}, format="json").status_code == 200
    assert Rejection.objects.get().comment == comment
    assert len(TaskExclusion.objects.get(task_id=annotation.task_id).reason) == 500


def test_the_service_refuses_another_stores_supervisor(sam, annotation):
    with pytest.raises(Exception) as caught:
        annotation_reject(supervisor=sam, annotation=annotation, comment="no")
    assert caught.type.__name__ == "Http404"
    assert unchanged(annotation)


def test_the_service_refuses_a_non_string_comment(carol, annotation):
    with pytest.raises(LoupeError) as caught:
        annotation_reject(supervisor=carol, annotation=annotation, comment=None)  # type: ignore[arg-type]
    assert caught.value.field == "comment"


def test_the_console_and_the_api_share_the_refusals(client, carol, annotation):
    client.force_login(carol)
    page = reverse("annotator:annotation_reject", kwargs={"annotation_id": annotation.pk})

    assert client.post(page, {"comment": "x" * 10_000}).status_code == 400
    assert unchanged(annotation)
    assert client.post(page, {"comment": "fine"}).status_code == 302
    assert client.post(page, {"comment": "again"}).status_code == 409
    assert Rejection.objects.get().comment == "fine"


def test_the_next_associate_reads_the_comment_in_the_claimed_tasks_payload(carol, dave, annotation):
    token_client(carol).post(url(annotation), {"comment": "Two hands, not one."}, format="json")

    claimed = token_client(dave).post(reverse("api-task-next"), {}, format="json")

    assert claimed.status_code == 200
    task = claimed.json()["task"]
    assert task["id"] == str(annotation.task_id)
    assert task["payload"]["rejection"]["comment"] == "Two hands, not one."
    assert task["payload"]["snippet"] == str(Task.objects.get(pk=annotation.task_id).subject_id)
