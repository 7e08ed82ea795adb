"""`unsure` ("can't tell", API.md v1.1): the task goes to a different associate with the earlier
answers, after two unsure answers on one event to the store's supervisors-only escalation
queue, and no receipt or label comes until someone decides."""

import uuid

import pytest
from django.urls import reverse

from annotator.models import Label, Queue, Task, TaskExclusion
from annotator.selectors.escalations import escalations_waiting
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import Store
from infra.errors import LoupeError
from tests.conftest import token_client
from tests.validation.review import associate, pending_visit, validate, verdicts
from validation.models import Receipt, Visit

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/tasks/next/"


def unsure_first(visit: Visit) -> list[dict]:
    return verdicts(visit, {"verdict": "unsure"})


def test_an_unsure_answer_sends_the_task_to_another_associate_with_the_earlier_answer(s001):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    due_at, queue_id = task.due_at, task.queue_id
    validate(ann, task, unsure_first(visit))

    task.refresh_from_db()
    assert (task.status, task.annotations_done, task.due_at, task.queue_id) == ("open", 0, due_at, queue_id)
    assert TaskExclusion.objects.get(task=task, user=ann).cause == "unsure"
    assert not Receipt.objects.filter(visit=visit).exists()
    assert not Label.objects.filter(task=task).exists()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.PENDING_REVIEW
    assert task_claim(associate=ann) is None  # never offered again
    lease = task_claim(associate=ben)
    assert lease is not None and lease.task.pk == task.pk
    first_event = str(visit.events.order_by("seq").first().id)
    earlier = lease.task.payload["earlier"]
    assert [item["verdict"] for item in earlier[0]["events"]] == ["unsure", "confirm"]
    assert earlier[0]["events"][0]["event"] == first_event


def test_the_next_associate_decides_and_the_receipt_follows(s001):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, unsure_first(visit))
    validate(ben, task, verdicts(visit, {"verdict": "reject"}))
    visit.refresh_from_db()
    assert visit.status == Visit.Status.VALIDATED
    assert Receipt.objects.filter(visit=visit).count() == 1
    assert Label.objects.filter(task=task).count() == 2
    assert set(Label.objects.filter(task=task).values_list("associate__username", flat=True)) == {"ben"}


def test_two_unsure_answers_on_one_event_escalate_to_supervisors(s001, carol):
    ann, ben, cid = associate(s001, "ann"), associate(s001, "ben"), associate(s001, "cid")
    visit, task = pending_visit(s001)
    due_at = task.due_at
    validate(ann, task, unsure_first(visit))
    validate(ben, task, unsure_first(visit))

    task.refresh_from_db()
    escalation = Queue.objects.get(store=s001, name="escalation")
    assert (escalation.kind, escalation.supervisors_only) == ("visit_validation", True)
    assert (task.queue_id, task.status, task.due_at) == (escalation.pk, "open", due_at)
    assert not Receipt.objects.filter(visit=visit).exists()
    # Associates never lease from it, even as members (onboarding adds them to every queue).
    escalation.members.add(cid)
    assert task_claim(associate=cid) is None
    waiting = escalations_waiting(stores=Store.objects.filter(pk=s001.pk))
    assert waiting.waiting == 1 and waiting.first[0].task_id == str(task.pk)

    # The supervisor claims it through the work API, with the queue or without.
    client = token_client(carol)
    response = client.post(NEXT, {"queue": str(escalation.pk)}, format="json")
    assert response.status_code == 200
    assert response.json()["task"]["id"] == str(task.pk)
    assert len(response.json()["task"]["payload"]["earlier"]) == 2
    assert client.post(NEXT, {}, format="json").json()["task"]["id"] == str(task.pk)  # resume

    submit = f"/api/v1/tasks/{task.pk}/submit/"
    refused = client.post(
        submit, {"result": {"events": unsure_first(visit)}, "submission_id": str(uuid.uuid4())}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "events[0].verdict"

    decided = client.post(
        submit, {"result": {"events": verdicts(visit)}, "submission_id": str(uuid.uuid4())}, format="json"
    )
    assert decided.status_code == 200
    visit.refresh_from_db()
    assert visit.status == Visit.Status.VALIDATED
    assert Receipt.objects.filter(visit=visit).count() == 1
    assert set(Label.objects.filter(task=task).values_list("source", flat=True)) == {"supervisor"}
    assert escalations_waiting(stores=Store.objects.filter(pk=s001.pk)).waiting == 0


def test_unsure_on_different_events_keeps_the_task_with_associates(s001):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, verdicts(visit, {"verdict": "unsure"}))
    validate(ben, task, verdicts(visit, None, {"verdict": "unsure"}))
    task.refresh_from_db()
    assert not task.queue.supervisors_only
    assert len(task.payload["earlier"]) == 2


def test_supervisors_of_another_store_cannot_claim_the_escalation(s001, s002, sam):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, unsure_first(visit))
    validate(ben, task, unsure_first(visit))
    assert token_client(sam).post(NEXT, {}, format="json").status_code == 204
    escalation = Task.objects.get(pk=task.pk).queue
    assert token_client(sam).post(NEXT, {"queue": str(escalation.pk)}, format="json").status_code == 404


def test_unsure_is_not_an_answer_in_a_visits_escalation_service_side(s001, carol):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, unsure_first(visit))
    validate(ben, task, unsure_first(visit))
    assert task_claim(associate=carol).task.pk == task.pk
    with pytest.raises(LoupeError) as caught:
        task_submit(
            associate=carol, task_id=task.pk, result={"events": unsure_first(visit)}, submission_id=uuid.uuid4()
        )
    assert caught.value.field == "events[0].verdict"


def test_the_escalation_queue_shows_in_the_metrics_with_its_name(s001, carol):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, unsure_first(visit))
    validate(ben, task, unsure_first(visit))
    queues = token_client(carol).get("/api/v1/metrics/").json()["queues"]
    escalation = next(queue for queue in queues if queue["name"] == "escalation")
    assert (escalation["store"], escalation["kind"], escalation["depth"]) == ("S001", "visit_validation", 1)


def test_a_supervisor_sees_the_escalation_on_the_console_and_decides_it_on_the_workbench(client, s001, carol):
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, unsure_first(visit))
    validate(ben, task, unsure_first(visit))
    client.force_login(carol)
    panel = client.get(reverse("annotator:supervise_panel"), {"name": "escalations"}).content.decode()
    assert 'data-kpi="escalations_waiting">1<' in panel
    assert 'id="escalation-claim"' in panel

    claimed = client.post(reverse("annotator:claim"))
    assert claimed.status_code == 302 and claimed.url == reverse("annotator:task", args=[task.pk])
    screen = client.get(claimed.url).content.decode()
    assert 'id="wb-escalated-note"' in screen
    assert 'data-act="unsure"' not in screen
    assert screen.count("Earlier: can&#x27;t tell; can&#x27;t tell") == 1


def test_a_supervisor_holding_an_escalation_gets_the_workbench_preview(client, s001, carol):
    """The workbench prefetches the next task's screen for whoever holds a task, supervisors on
    escalations included (the preview once admitted associates only: a 403 on every escalation)."""
    ann, ben = associate(s001, "ann"), associate(s001, "ben")
    visit, task = pending_visit(s001)
    validate(ann, task, unsure_first(visit))
    validate(ben, task, unsure_first(visit))
    client.force_login(carol)
    assert client.post(reverse("annotator:claim")).status_code == 302
    # Nothing else waits for carol: the preview answers "nothing follows", not a refusal.
    assert client.get(reverse("annotator:task_preview", args=[task.pk])).status_code == 204
