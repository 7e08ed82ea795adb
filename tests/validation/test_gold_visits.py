"""Gold visits (API.md v1.1, "Gold tasks and associate quality"): made through the API or from
a validated visit, served at the store's gold_share, indistinguishable from real work, scored
per event, and never a receipt, a webhook, a label or a dataset row."""

import threading
import uuid
from html.parser import HTMLParser

import pytest
from django.db import connections
from django.urls import reverse

from annotator.models import (
    Dataset,
    DatasetItem,
    GoldScore,
    GoldTask,
    Label,
    QueueMembership,
    Slot,
    Task,
    TaskExclusion,
)
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import Store
from tests.conftest import session_client, token_client
from tests.validation.bodies import visit_body
from tests.validation.gold import answer, gold_events, make_gold, serve_and_answer, truth_of
from tests.validation.review import associate, audited_visit, pending_visit, validate, verdicts
from validation.models import CartCorrection, Receipt, Visit, WebhookDelivery, WebhookEndpoint, WebhookEvent
from validation.services.gold import gold_visit_from_visit

pytestmark = pytest.mark.django_db

GOLD = "/api/v1/gold/visits/"


@pytest.fixture
def billing(db):
    return WebhookEndpoint.objects.create(url="https://billing.example/hook", secret="whsec_x", event_types=[])


def score_of(annotation) -> GoldScore:
    return GoldScore.objects.get(annotation=annotation)


# Creating ---------------------------------------------------------------------------------


def test_an_integration_posts_a_gold_visit_and_it_waits_like_a_pending_one(s001, s001_integration):
    events = gold_events()
    body = visit_body("S001", events=events) | {"truth": truth_of(events, e2={"verdict": "reject"})}
    response = token_client(s001_integration).post(GOLD, body, format="json")
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"id", "task_id"}
    visit = Visit.objects.get(pk=response.json()["id"])
    task = Task.objects.get(pk=response.json()["task_id"])
    assert visit.status == Visit.Status.PENDING_REVIEW and task.subject_id == visit.pk
    assert task.purpose == "review" and task.kind == "visit_validation"
    assert GoldTask.objects.get(task=task).truth["events"][1]["verdict"] == "reject"
    assert not Slot.objects.filter(task=task).exists()  # only ever leased through the gold serve
    assert not Receipt.objects.filter(visit=visit).exists()


def test_a_supervisor_of_the_store_posts_a_gold_visit(s001, carol):
    events = gold_events()
    body = visit_body("S001", events=events) | {"truth": truth_of(events)}
    assert token_client(carol).post(GOLD, body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda body: body.pop("truth"), "truth", "required"),
        (lambda body: body.update(truth=[]), "truth", "invalid"),
        (lambda body: body["truth"]["events"].pop(), "truth.events", "missing_events"),
        (lambda body: body["truth"]["events"][0].update(external_id="nope"), "truth.events[0].external_id", None),
        (lambda body: body["truth"]["events"][1].update(external_id="e1"), "truth.events[1].external_id", None),
        (lambda body: body["truth"]["events"][0].update(verdict="unsure"), "truth.events[0].verdict", None),
        (lambda body: body["truth"]["events"][0].update(verdict="correct", sku="NOPE"), "truth.events[0].sku", None),
        (
            lambda body: body["truth"]["events"][0].update(verdict="correct", quantity=0),
            "truth.events[0].quantity",
            None,
        ),
        (lambda body: body["truth"].update(missed=[{"sku": "SKU-0003"}]), "truth.missed[0].action", "required"),
        (lambda body: body["truth"].update(extra=1), "truth.extra", "unknown_field"),
        (lambda body: body["events"][0].update(sku="NOPE"), "events[0].sku", "unknown_sku"),
        (lambda body: body.pop("shopper"), "shopper", None),
        (lambda body: [e.update(confidence=0.99) for e in body["events"]], "events", "too_sure"),
    ],
)
def test_a_bad_gold_visit_is_400_naming_the_field_and_nothing_is_stored(s001, s001_integration, change, field, code):
    events = gold_events()
    body = visit_body("S001", events=events) | {"truth": truth_of(events)}
    change(body)
    response = token_client(s001_integration).post(GOLD, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    if code:
        assert response.json()["error"]["code"] == code
    assert not Visit.objects.exists() and not Task.objects.exists() and not GoldTask.objects.exists()


def test_a_gold_visit_with_a_known_external_id_is_409_and_nothing_is_stored(s001, s001_integration):
    visit, _ = pending_visit(s001)
    events = gold_events()
    body = visit_body("S001", events=events, external_id=visit.external_id) | {"truth": truth_of(events)}
    response = token_client(s001_integration).post(GOLD, body, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "duplicate_external_id"
    assert Visit.objects.count() == 1 and not GoldTask.objects.exists()


def test_gold_visits_by_role_and_store(s001, s002, alice, s002_integration, sam, api):
    events = gold_events()
    body = visit_body("S001", events=events) | {"truth": truth_of(events)}
    assert api.post(GOLD, body, format="json").status_code == 401
    assert token_client(alice).post(GOLD, body, format="json").status_code == 403
    assert token_client(s002_integration).post(GOLD, body, format="json").status_code == 404
    assert token_client(sam).post(GOLD, body, format="json").status_code == 404
    assert not Visit.objects.exists()


def test_a_gold_visit_is_read_by_its_stores_supervisors_and_integrations_only(
    s001, s002, carol, alice, sam, s001_integration, s002_integration, api
):
    gold = make_gold(s001, carol)
    real, _ = pending_visit(s001)
    url = f"{GOLD}{gold.visit.pk}/"
    for user in (carol, s001_integration):
        response = token_client(user).get(url)
        assert response.status_code == 200
        assert response.json()["truth"]["events"][0] == {
            "external_id": "e1",
            "verdict": "confirm",
            "sku": "SKU-0001",
            "action": "take",
            "quantity": 1,
        }
    assert api.get(url).status_code == 401
    assert token_client(alice).get(url).status_code == 403
    assert token_client(sam).get(url).status_code == 404
    assert token_client(s002_integration).get(url).status_code == 404
    assert token_client(carol).get(f"{GOLD}{real.pk}/").status_code == 404  # a real visit is no gold visit
    assert token_client(carol).get(f"{GOLD}{uuid.uuid4()}/").status_code == 404
    assert token_client(carol).get(f"{GOLD}not-a-uuid/").status_code == 404


# Serving ----------------------------------------------------------------------------------


def test_gold_is_served_at_the_stores_share_and_once_to_each_associate(s001, carol, alice, dave):
    gold = make_gold(s001, carol, share=0.25)
    for _ in range(8):
        pending_visit(s001)
    served = []
    for _ in range(8):
        lease = task_claim(associate=alice)
        served.append(lease.task.pk == gold.task.pk)
        events = answer(Visit.objects.get(pk=lease.task.subject_id))
        task_submit(associate=alice, task_id=lease.task.pk, result={"events": events}, submission_id=uuid.uuid4())
    # The first claim (0 < 0.25 × 1), then never again: she has answered the only gold task.
    assert served == [True] + [False] * 7
    assert task_claim(associate=dave).task.pk == gold.task.pk  # a gold task is served to many
    assert Slot.objects.filter(task=gold.task).count() == 2


def test_gold_follows_the_share_deterministically_with_several_gold_tasks(s001, carol, alice):
    golds = [make_gold(s001, carol, share=0.2).task.pk for _ in range(3)]
    for _ in range(12):
        pending_visit(s001)
    pattern = []
    for _ in range(12):
        lease = task_claim(associate=alice)
        pattern.append(lease.task.pk in golds)
        events = answer(Visit.objects.get(pk=lease.task.subject_id))
        task_submit(associate=alice, task_id=lease.task.pk, result={"events": events}, submission_id=uuid.uuid4())
    # Gold when served < 0.2 × claims: claims 1, 6 and 11.
    assert [n + 1 for n, gold in enumerate(pattern) if gold] == [1, 6, 11]


def test_no_gold_is_served_when_the_share_is_zero_or_there_is_no_real_work(s001, carol, alice):
    gold = make_gold(s001, carol, share=0.0)
    real, task = pending_visit(s001)
    assert task_claim(associate=alice).task.pk == task.pk
    task_submit(associate=alice, task_id=task.pk, result={"events": answer(real)}, submission_id=uuid.uuid4())
    Store.objects.filter(pk=s001.pk).update(gold_share=0.5)
    # Nothing real is waiting: the work home says so, and no gold appears either.
    assert task_claim(associate=alice) is None
    assert not Slot.objects.filter(task=gold.task).exists()


# Never leaked -----------------------------------------------------------------------------


def _shape(value):
    """The keys and structure of a JSON value, without its values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


def test_the_task_payload_of_a_gold_visit_has_the_same_keys_and_structure_as_a_real_one(s001, carol, alice, dave):
    gold = make_gold(s001, carol, share=0.5)
    pending_visit(s001, events=gold_events())
    pending_visit(s001, events=gold_events())
    first = token_client(alice).post("/api/v1/tasks/next/", {}, format="json").json()
    second = token_client(dave).post("/api/v1/tasks/next/", {}, format="json").json()
    assert first["task"]["id"] == str(gold.task.pk)  # alice's first claim is gold
    assert second["task"]["id"] == str(gold.task.pk)  # and so is dave's
    real = Task.objects.exclude(pk=gold.task.pk).first()
    client = token_client(alice)
    task_submit(
        associate=alice,
        task_id=gold.task.pk,
        result={"events": answer(gold.visit)},
        submission_id=uuid.uuid4(),
    )
    third = client.post("/api/v1/tasks/next/", {}, format="json").json()
    assert third["task"]["id"] != str(gold.task.pk)
    assert _shape(first) == _shape(third)
    assert "gold" not in str(first).lower() and "truth" not in str(first).lower()
    assert first["task"]["kind"] == third["task"]["kind"] and first["task"]["queue"] == third["task"]["queue"]
    assert real is not None


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))


def _structure(html: str) -> list:
    parser = _Structure()
    parser.feed(html)
    return parser.tags


def test_the_workbench_page_of_a_gold_visit_has_the_same_structure_as_a_real_one(s001, carol, alice):
    gold = make_gold(s001, carol, share=0.5)
    _, real_task = pending_visit(s001, events=gold_events())
    client = session_client(alice)
    assert client.post(reverse("annotator:claim")).status_code == 302
    gold_page = client.get(reverse("annotator:task", args=[gold.task.pk])).content.decode()
    task_submit(
        associate=alice, task_id=gold.task.pk, result={"events": answer(gold.visit)}, submission_id=uuid.uuid4()
    )
    assert task_claim(associate=alice).task.pk == real_task.pk
    real_page = client.get(reverse("annotator:task", args=[real_task.pk])).content.decode()
    assert _structure(gold_page) == _structure(real_page)
    assert "gold" not in gold_page.lower() and "truth" not in gold_page.lower()
    # The lookahead of the next task shows real work only, and says nothing of gold either.
    lookahead = token_client(alice).get("/api/v1/tasks/lookahead/")
    assert "gold" not in lookahead.content.decode().lower()


def test_answering_gold_issues_no_receipt_webhook_label_correction_or_dataset_row(
    s001, carol, alice, s001_integration, billing
):
    gold = make_gold(s001, carol, share=0.5)
    pending_visit(s001)
    annotation = serve_and_answer(
        alice, gold, answer(gold.visit, {"verdict": "reject"}), [{"sku": "SKU-0003", "action": "take", "quantity": 1}]
    )
    assert score_of(annotation).events == 3
    gold.task.refresh_from_db()
    gold.visit.refresh_from_db()
    assert gold.visit.status == Visit.Status.PENDING_REVIEW and gold.visit.final_cart is None
    assert not Receipt.objects.filter(visit=gold.visit).exists()
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert not Label.objects.filter(task=gold.task).exists()
    assert not CartCorrection.objects.filter(visit=gold.visit).exists()
    assert gold.task.status == Task.Status.OPEN  # many associates answer it
    # Through the API: the visit has no receipt, the feed nothing of it, a dataset no row.
    integration = token_client(s001_integration)
    assert integration.get(f"/api/v1/visits/{gold.visit.pk}/").json()["receipt"] is None
    feed = integration.get("/api/v1/labels/?store=S001").json()
    assert feed["results"] == []
    created = integration.post(
        "/api/v1/datasets/",
        {"name": "all", "format": "jsonl", "filters": {"store": "S001", "checked_only": False}},
        format="json",
    )
    assert created.status_code == 202, created.content
    dataset = Dataset.objects.get(pk=created.json()["id"])
    assert not DatasetItem.objects.filter(dataset=dataset).exists()


# Scoring ----------------------------------------------------------------------------------


@pytest.fixture
def served(s001, carol, alice):
    """A gold visit (e1: SKU-0001 × 1 confirmed; e2: SKU-0002 × 2 confirmed) and real work."""
    pending_visit(s001)
    return make_gold(s001, carol, share=0.5)


def _score(alice, gold, *overrides, missed=None, opened=True) -> GoldScore:
    return score_of(serve_and_answer(alice, gold, answer(gold.visit, *overrides, opened=opened), missed))


def test_a_right_answer_scores_every_event_right(served, alice):
    score = _score(alice, served)
    assert (score.events, score.correct) == (2, 2)
    assert [item["why"] for item in score.details] == ["right", "right"]


def test_a_wrong_sku_is_one_wrong_event(served, alice):
    score = _score(alice, served, {"verdict": "correct", "sku": "SKU-0003"})
    assert (score.events, score.correct) == (2, 1)
    assert score.details[0]["why"] == "wrong product"


def test_a_wrong_quantity_is_one_wrong_event(served, alice):
    score = _score(alice, served, None, {"verdict": "correct", "quantity": 1})
    assert (score.events, score.correct) == (2, 1)
    assert score.details[1]["why"] == "wrong quantity"


def test_a_correction_the_truth_also_makes_is_right_and_a_confirm_of_it_wrong(s001, carol, alice, dave):
    pending_visit(s001)
    gold = make_gold(s001, carol, e2={"verdict": "correct", "quantity": 3})
    score = _score(alice, gold, None, {"verdict": "correct", "quantity": 3})
    assert (score.events, score.correct) == (2, 2)
    score = score_of(serve_and_answer(dave, gold, answer(gold.visit)))
    assert (score.events, score.correct) == (2, 1)
    assert score.details[1]["why"] == "wrong quantity"


def test_unsure_on_gold_counts_as_not_right_and_does_not_escalate(served, alice, s001):
    score = _score(alice, served, {"verdict": "unsure"})
    assert (score.events, score.correct) == (2, 1)
    assert score.details[0]["why"] == "can't tell"
    assert not TaskExclusion.objects.filter(task=served.task).exists()
    assert not Task.objects.filter(queue__supervisors_only=True).exists()  # no escalation
    served.task.refresh_from_db()
    assert "earlier" not in served.task.payload  # nothing handed back to anyone


def test_an_unchecked_confirm_on_gold_is_not_right(served, alice):
    score = _score(alice, served, opened=False)
    assert (score.events, score.correct) == (2, 0)
    assert {item["why"] for item in score.details} == {"confirmed without opening the event"}


def test_missed_items_the_truth_has_and_the_answer_lacks_are_wrong_and_extra_ones_too(s001, carol, alice):
    pending_visit(s001)
    gold = make_gold(
        s001,
        carol,
        missed=[
            {"sku": "SKU-0003", "action": "take", "quantity": 1},
            {"sku": "SKU-0004", "action": "take", "quantity": 1},
        ],
    )
    score = _score(
        alice,
        gold,
        missed=[
            {"sku": "SKU-0003", "action": "take", "quantity": 1},  # right
            {"sku": "SKU-0005", "action": "take", "quantity": 1},  # not in the truth
        ],
    )
    # Two events right, SKU-0003 right, SKU-0004 not added, SKU-0005 extra.
    assert (score.events, score.correct) == (5, 3)
    whys = sorted(item["why"] for item in score.details if item["event"] is None)
    assert whys == ["added an item not there", "missed item not added", "right"]


def test_the_gold_visit_detail_shows_every_answers_scores(served, alice, carol):
    _score(alice, served, {"verdict": "reject"})
    body = token_client(carol).get(f"{GOLD}{served.visit.pk}/").json()
    assert (body["events"], body["correct"]) == (2, 1)
    (only,) = body["answers"]
    assert only["associate"] == "alice" and only["accuracy"] == 0.5
    assert only["scores"][0] == {
        "event": "e1",
        "truth": {"sku": "SKU-0001", "action": "take", "quantity": 1},
        "answer": "reject",
        "right": False,
        "why": "said it did not happen",
    }


# From a validated visit -------------------------------------------------------------------


def test_a_validated_visit_becomes_gold_with_the_accepted_answer_as_truth(s001, carol, alice, dave):
    visit, task = pending_visit(s001)
    validate(alice, task, verdicts(visit, None, {"verdict": "correct", "quantity": 4}))
    visit.refresh_from_db()
    gold = gold_visit_from_visit(visit=visit, by=carol)
    assert gold.visit.pk != visit.pk and gold.visit.shopper != visit.shopper
    truth = GoldTask.objects.get(task=gold.task).truth
    assert [item["verdict"] for item in truth["events"]] == ["confirm", "correct"]
    assert truth["events"][1]["quantity"] == 4
    assert gold.task.payload.keys() == task.payload.keys()
    assert set(gold.task.snippets.all()) == set(task.snippets.all())


def test_a_pending_visit_cannot_become_gold(s001, carol):
    visit, _ = pending_visit(s001)
    with pytest.raises(Exception) as error:
        gold_visit_from_visit(visit=visit, by=carol)
    assert getattr(error.value, "code", "") == "not_validated"
    assert not GoldTask.objects.exists()


def test_make_gold_button_on_the_review_page_by_store_supervisor_only(s001, s002, carol, sam, alice):
    visit, task = pending_visit(s001)
    annotation = validate(alice, task, verdicts(visit))
    page = session_client(carol).get(reverse("annotator:annotation", args=[annotation.pk]))
    url = reverse("validation:gold_from_visit", args=[visit.pk])
    assert url in page.content.decode()
    assert session_client(sam).post(url, {"confirm": "1"}).status_code == 404
    assert session_client(alice).post(url, {"confirm": "1"}).status_code == 403
    assert not GoldTask.objects.exists()
    response = session_client(carol).post(url, {"confirm": "1"})
    assert response.status_code == 302
    assert GoldTask.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_eight_associates_claiming_at_once_each_get_the_gold_task_once(s001, carol):
    """The gold serve locks the gold task's row to number its new slot: concurrent claimers
    each get their own slot of it, none twice, no unique violation."""
    people = [associate(s001, f"worker{n}") for n in range(8)]
    for _ in range(8):
        pending_visit(s001)
    gold = make_gold(s001, carol, share=0.5)
    barrier = threading.Barrier(len(people))
    leases, errors = {}, []

    def claim(user):
        try:
            barrier.wait()
            leases[user.username] = task_claim(associate=user)
        except BaseException as error:  # pragma: no cover (reported below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert all(lease is not None and lease.task.pk == gold.task.pk for lease in leases.values())
    slots = list(Slot.objects.filter(task=gold.task).values_list("index", "holder_id"))
    assert len(slots) == 8 and len({index for index, _ in slots}) == 8
    assert {holder for _, holder in slots} == {user.pk for user in people}


def test_an_answer_to_gold_cannot_be_rejected(served, alice, carol):
    annotation = serve_and_answer(alice, served, answer(served.visit))
    response = token_client(carol).post(
        f"/api/v1/annotations/{annotation.pk}/reject/", {"comment": "no"}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "gold_answer"
    assert Slot.objects.filter(task=served.task, holder__isnull=True).count() == 0


def test_a_supervisor_working_the_queue_is_never_served_gold(s001, carol):
    gold = make_gold(s001, carol, share=0.5)
    _, task = pending_visit(s001)
    QueueMembership.objects.create(queue=task.queue, user=carol)
    assert task_claim(associate=carol).task.pk == task.pk
    assert not Slot.objects.filter(task=gold.task).exists()


def test_the_work_home_counts_real_work_only(s001, carol, alice):
    make_gold(s001, carol, share=0.5)
    make_gold(s001, carol, share=0.5)
    pending_visit(s001)
    response = session_client(alice).get(reverse("annotator:work"))
    assert response.context["waiting"] == 1
    assert "gold" not in response.content.decode().lower()


def test_an_audited_visit_the_model_was_sure_of_cannot_become_gold(s001, carol, alice):
    visit, task = audited_visit(s001)
    validate(alice, task, verdicts(visit, {"verdict": "reject"}))
    visit.refresh_from_db()
    assert visit.status == Visit.Status.VALIDATED
    with pytest.raises(Exception) as error:
        gold_visit_from_visit(visit=visit, by=carol)
    assert getattr(error.value, "code", "") == "too_sure"


def test_a_released_gold_task_is_closed_for_them_and_not_handed_on(s001, carol, alice, dave):
    gold = make_gold(s001, carol, share=0.5)
    pending_visit(s001)
    pending_visit(s001)
    lease = task_claim(associate=alice)
    assert lease.task.pk == gold.task.pk
    response = token_client(alice).post(f"/api/v1/tasks/{gold.task.pk}/release/", {"reason": "skip"}, format="json")
    assert response.status_code == 200
    slot = Slot.objects.get(task=gold.task, holder=alice)
    assert slot.state == Slot.State.CANCELLED
    assert TaskExclusion.objects.filter(task=gold.task, user=alice).exists()
    assert not Slot.objects.filter(task=gold.task, state="open", holder__isnull=True).exists()
    assert task_claim(associate=alice).task.pk != gold.task.pk  # never again for her
    assert task_claim(associate=dave).task.pk == gold.task.pk  # served afresh to the next
