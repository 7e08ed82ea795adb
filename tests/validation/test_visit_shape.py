"""The hand-written visit shape check answers exactly what DRF's VisitIn would: the same
cleaned data (so body hashes of stored visits still match) and the same first error."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from infra.errors import LoupeError, first_validation_error
from tests.validation.bodies import event_body, visit_body
from validation.schemas import VisitIn
from validation.services.ingest import body_sha256
from validation.visit_shape import visit_shape_check


def drf_answer(payload: dict):
    try:
        return ("ok", VisitIn().run_validation(copy.deepcopy(payload)))
    except ValidationError as exc:
        return ("error", first_validation_error(exc.detail))


def shape_answer(payload: dict):
    try:
        return ("ok", visit_shape_check(copy.deepcopy(payload)))
    except LoupeError as exc:
        return ("error", (exc.code, exc.detail, exc.field))


def assert_same(payload: dict) -> None:
    drf, shape = drf_answer(payload), shape_answer(payload)
    assert shape[0] == drf[0], (shape, drf)
    if drf[0] == "ok":
        assert shape[1] == dict(drf[1])
        assert body_sha256(shape[1]) == body_sha256(drf[1])
    else:
        assert shape[1] == drf[1]


ODD_VALUES = [
    None,
    "",
    "   ",
    " padded ",
    "x" * 200,
    "a\x00b",
    "\ud800",
    "take",
    "put_back",
    "Take",
    0,
    1,
    2,
    -1,
    10_001,
    0.5,
    1.0,
    1.5,
    float("nan"),
    float("inf"),
    True,
    False,
    [],
    ["take"],
    {},
    {"sku": "SKU-0001"},
    "2026-11-24T10:03:11Z",
    "2026-11-24T10:03:11+05:30",
    "2026-11-24T10:03:11",
    "2026-11-24",
    "yesterday",
    "2026-11-24T10:03:11Z" + " " * 60,
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:00Z",
    "0001-01-01T00:00:00Z",
]
VISIT_KEYS = ["external_id", "store", "shopper", "entered_at", "exited_at", "model_version", "events"]
EVENT_KEYS = [*event_body(), "snippet"]


@pytest.mark.parametrize("key", VISIT_KEYS)
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_every_odd_value_of_a_visit_field_gets_drfs_answer(key, value):
    payload = visit_body()
    payload[key] = value
    assert_same(payload)


@pytest.mark.parametrize("key", EVENT_KEYS)
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_every_odd_value_of_an_event_field_gets_drfs_answer(key, value):
    payload = visit_body(events=[event_body(1), event_body(2), event_body(3)])
    payload["events"][1][key] = value
    assert_same(payload)


@pytest.mark.parametrize("key", ["sku", "score"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_every_odd_value_of_a_candidate_field_gets_drfs_answer(key, value):
    payload = visit_body()
    payload["events"][0]["candidates"] = [{"sku": "SKU-0002", "score": 0.1}, {"sku": "SKU-0003", "score": 0.2}]
    payload["events"][0]["candidates"][1][key] = value
    assert_same(payload)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("external_id"),
        lambda b: b["events"][0].pop("sku"),
        lambda b: b["events"][0].pop("quantity"),
        lambda b: b["events"][0].pop("camera"),
        lambda b: b["events"][0].pop("candidates"),
        lambda b: b["events"].append("not an event"),
        lambda b: b["events"][0].update(candidates=[{"sku": "S", "score": 0.1}] * 21),
        lambda b: b["events"][0].update(candidates=["x"]),
        lambda b: b.update(events=[]),
        lambda b: b.update(exited_at="2026-11-24T09:00:00Z"),
        lambda b: b.update(exited_at="2026-11-24T09:00:00Z", shopper=None),
        lambda b: b.update(unknown_key=1),
        lambda b: b["events"][2].update(sku=None, quantity=0),
        lambda b: b["events"][1].update(confidence=2) or b["events"][2].update(sku=None),
    ],
)
def test_missing_defaults_lists_and_ordering_of_errors_match_drf(mutate):
    payload = visit_body(events=[event_body(1), event_body(2), event_body(3)])
    mutate(payload)
    assert_same(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20_000) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.sampled_from(["visit", "event", "candidate"]),
    key=st.sampled_from([*VISIT_KEYS, *EVENT_KEYS, "score"]),
    value=json_values,
)
def test_random_values_anywhere_get_drfs_answer(where, key, value):
    payload = visit_body()
    target = {
        "visit": payload,
        "event": payload["events"][1],
        "candidate": payload["events"][0]["candidates"][0],
    }[where]
    target[key] = value
    assert_same(payload)
