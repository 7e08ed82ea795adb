"""visit_ingest: shape and reference checks, idempotency, what gets stored."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotator.models import Task
from infra.errors import Conflict, LoupeError
from tests.validation.bodies import event_body, visit_body
from tests.validation.review import make_snippet
from validation.models import Event, Receipt, Visit
from validation.services import visit_ingest


def counts() -> tuple[int, int, int, int]:
    return Visit.objects.count(), Event.objects.count(), Receipt.objects.count(), Task.objects.count()


def assert_refused(store, payload, *, code: str, field: str | None) -> LoupeError:
    before = counts()
    with pytest.raises(LoupeError) as info:
        visit_ingest(store=store, payload=payload)
    assert (info.value.code, info.value.field) == (code, field)
    assert counts() == before
    return info.value


def test_ingest_stores_the_visit_its_events_and_predicted_cart(s001):
    result = visit_ingest(store=s001, payload=visit_body())

    assert result.created
    visit = Visit.objects.get()
    assert visit == result.visit
    assert [e.external_id for e in visit.events.order_by("seq")] == ["e1", "e2"]
    assert visit.predicted_cart == [
        {"sku": "SKU-0001", "name": "S001 product 1", "quantity": 1, "price_minor": 100},
        {"sku": "SKU-0002", "name": "S001 product 2", "quantity": 1, "price_minor": 200},
    ]
    assert visit.model_version == "jwo-2026.11.2"
    assert visit.exited_at == dt.datetime(2026, 11, 24, 10, 9, 40, tzinfo=dt.UTC)
    event = visit.events.get(external_id="e1")
    assert event.camera.code == "C01"
    assert event.candidates == [{"sku": "SKU-0002", "score": 0.02}]


def test_predicted_cart_nets_takes_against_put_backs(s001):
    events = [
        event_body(1, sku="SKU-0001", quantity=3),
        event_body(2, sku="SKU-0002"),
        event_body(3, sku="SKU-0001", action="put_back"),
        event_body(4, sku="SKU-0002", action="put_back"),
        event_body(5, sku="SKU-0003", action="put_back"),
    ]
    result = visit_ingest(store=s001, payload=visit_body(events=events))

    assert result.visit.predicted_cart == [
        {"sku": "SKU-0001", "name": "S001 product 1", "quantity": 2, "price_minor": 100}
    ]


def test_quantity_defaults_to_one(s001):
    event = event_body(1)
    del event["quantity"]
    result = visit_ingest(store=s001, payload=visit_body(events=[event]))

    assert result.visit.events.get().quantity == 1


def test_timestamps_with_an_offset_are_stored_in_utc(s001):
    payload = visit_body(entered_at="2026-11-24T11:01:02+01:00", exited_at="2026-11-24T11:09:40+01:00")
    result = visit_ingest(store=s001, payload=payload)

    assert result.visit.entered_at == dt.datetime(2026, 11, 24, 10, 1, 2, tzinfo=dt.UTC)


def test_snippet_references_are_resolved_within_the_store(s001):
    snippet = make_snippet(s001)
    result = visit_ingest(store=s001, payload=visit_body(events=[event_body(1, snippet="snip-1", confidence=0.2)]))

    assert result.visit.events.get().snippet == snippet
    assert list(result.task.snippets.all()) == [snippet]


def test_the_same_body_again_returns_the_stored_visit(s001):
    payload = visit_body()
    first = visit_ingest(store=s001, payload=payload)
    before = counts()

    again = visit_ingest(store=s001, payload=payload)

    assert (again.created, again.visit.pk) == (False, first.visit.pk)
    assert counts() == before


def test_a_replay_with_equivalent_timestamps_and_defaults_is_the_same_body(s001):
    payload = visit_body()
    visit_ingest(store=s001, payload=payload)
    same = visit_body(external_id=payload["external_id"], entered_at="2026-11-24T11:01:02+01:00")
    for event in same["events"]:
        del event["quantity"]

    assert visit_ingest(store=s001, payload=same).created is False


def test_the_same_external_id_with_another_body_is_a_conflict(s001):
    payload = visit_body()
    visit_ingest(store=s001, payload=payload)
    payload["shopper"] = "anon-other"

    error = assert_refused(s001, payload, code="duplicate_external_id", field="external_id")
    assert isinstance(error, Conflict)


def test_the_same_external_id_in_another_store_is_another_visit(s001, s002):
    visit_ingest(store=s001, payload=visit_body(external_id="v-1"))
    result = visit_ingest(store=s002, payload=visit_body("S002", external_id="v-1"))

    assert result.created
    assert Visit.objects.count() == 2


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda b: b.pop("external_id"), "required", "external_id"),
        (lambda b: b.pop("shopper"), "required", "shopper"),
        (lambda b: b.pop("events"), "required", "events"),
        (lambda b: b["events"][1].pop("sku"), "required", "events[1].sku"),
        (lambda b: b["events"][0].pop("confidence"), "required", "events[0].confidence"),
        (lambda b: b.update(external_id=""), "blank", "external_id"),
        (lambda b: b.update(external_id="x" * 129), "max_length", "external_id"),
        (lambda b: b.update(events={"e1": {}}), "not_a_list", "events"),
        (lambda b: b.update(shopper=42), "invalid", "shopper"),
        (lambda b: b["events"][1].update(confidence="high"), "invalid", "events[1].confidence"),
        (lambda b: b["events"][1].update(confidence=True), "invalid", "events[1].confidence"),
        (lambda b: b["events"][0].update(quantity="2"), "invalid", "events[0].quantity"),
        (lambda b: b["events"][0].update(action="steal"), "invalid_choice", "events[0].action"),
        (
            lambda b: b["events"][0].update(candidates=[{"sku": "SKU-0002", "score": 2}]),
            "out_of_range",
            "events[0].candidates[0].score",
        ),
        (lambda b: b["events"][1].update(confidence=1.01), "out_of_range", "events[1].confidence"),
        (lambda b: b["events"][1].update(confidence=-0.01), "out_of_range", "events[1].confidence"),
        (lambda b: b["events"][1].update(confidence=float("nan")), "out_of_range", "events[1].confidence"),
        (lambda b: b["events"][1].update(confidence=float("inf")), "out_of_range", "events[1].confidence"),
        (lambda b: b["events"][0].update(quantity=0), "min_value", "events[0].quantity"),
        (lambda b: b["events"][0].update(quantity=-3), "min_value", "events[0].quantity"),
        (lambda b: b.update(entered_at="2026-11-24T10:01:02"), "naive", "entered_at"),
        (lambda b: b.update(entered_at="yesterday"), "invalid", "entered_at"),
        (lambda b: b["events"][0].update(occurred_at="2026-11-24 10:03"), "naive", "events[0].occurred_at"),
        (lambda b: b.update(exited_at="2026-11-24T10:00:00Z"), "before_entered_at", "exited_at"),
        (lambda b: b["events"][1].update(external_id="e1"), "duplicate_event", "events[1].external_id"),
        (lambda b: b.update(store="S002"), "wrong_store", "store"),
        (lambda b: b["events"][1].update(sku="SKU-9999"), "unknown_sku", "events[1].sku"),
        (lambda b: b["events"][1].update(camera="C99"), "unknown_camera", "events[1].camera"),
        (lambda b: b["events"][0].update(snippet="nope"), "unknown_snippet", "events[0].snippet"),
        (
            lambda b: b["events"][1].update(
                candidates=[{"sku": "SKU-0003", "score": 0.1}, {"sku": "NOPE", "score": 0.05}]
            ),
            "unknown_sku",
            "events[1].candidates[1].sku",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(s001, mutate, code, field):
    payload = visit_body()
    mutate(payload)

    assert_refused(s001, payload, code=code, field=field)


def test_a_body_that_is_not_an_object_is_refused(s001):
    assert_refused(s001, ["not", "a", "visit"], code="invalid", field=None)


def test_more_than_500_events_is_refused(s001):
    events = [event_body(n) for n in range(501)]

    assert_refused(s001, visit_body(events=events), code="too_many_events", field="events")


def test_exactly_500_events_is_accepted(s001):
    events = [event_body(n) for n in range(500)]

    assert visit_ingest(store=s001, payload=visit_body(events=events)).visit.events.count() == 500


def test_exited_at_equal_to_entered_at_is_accepted(s001):
    payload = visit_body(exited_at="2026-11-24T10:01:02Z")

    assert visit_ingest(store=s001, payload=payload).created


def test_references_that_exist_only_in_another_store_are_unknown(s001, s002):
    # S002 has SKU-0001..0003, a camera C01, and this snippet; S001 has SKU-0001..0005.
    make_snippet(s002, external_id="snip-north", camera_code="C07")

    assert_refused(
        s002, visit_body("S002", events=[event_body(1, sku="SKU-0005")]), code="unknown_sku", field="events[0].sku"
    )
    assert_refused(
        s001, visit_body(events=[event_body(1, camera="C07")]), code="unknown_camera", field="events[0].camera"
    )
    assert_refused(
        s001,
        visit_body(events=[event_body(1, snippet="snip-north")]),
        code="unknown_snippet",
        field="events[0].snippet",
    )
    assert_refused(
        s002,
        visit_body("S002", events=[event_body(1, candidates=[{"sku": "SKU-0005", "score": 0.1}])]),
        code="unknown_sku",
        field="events[0].candidates[0].sku",
    )


def test_ingest_makes_as_many_queries_for_70_events_as_for_2(s001):
    visit_ingest(store=s001, payload=visit_body(events=[event_body(1, confidence=0.1)]))  # creates the queue

    def queries_for(n: int) -> int:
        events = [event_body(i, sku=f"SKU-000{i % 5 + 1}", confidence=0.1) for i in range(n)]
        with CaptureQueriesContext(connection) as context:
            visit_ingest(store=s001, payload=visit_body(events=events))
        return len(context)

    # 70 events fit one INSERT even under SQLite's variable limit.
    assert queries_for(70) == queries_for(2) <= 16
