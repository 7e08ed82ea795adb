"""visit_check, the shape check of a visit body (`schemas.VisitIn`): whatever JSON value sits
in any field, the answer is the cleaned visit or a 400 naming that field, and the cleaned
form (hence `body_sha256`, which replays are matched on) stays what stored visits were
hashed with."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.errors import LoupeError, error_body
from tests.validation.bodies import event_body, visit_body
from validation.services.ingest import body_sha256, visit_check


class Store:
    code = "S001"


def assert_answers_for(payload: dict, path: str) -> None:
    """Cleaned data, or a 400 whose field is `path` or inside it, with a body JSON can carry
    (an entered_at after exited_at is exited_at's fault)."""
    try:
        data = visit_check(store=Store, payload=copy.deepcopy(payload))
    except LoupeError as exc:
        assert exc.status_code == 400
        paths = (path, "exited_at") if path == "entered_at" else (path,)
        assert exc.field in paths or exc.field.startswith((f"{path}.", f"{path}[")), (exc.field, path)
        json.dumps(error_body(exc.code, exc.detail, exc.field), ensure_ascii=False).encode()
    else:
        body_sha256(data)


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
def test_every_odd_value_of_a_visit_field_is_cleaned_or_named(key, value):
    payload = visit_body()
    payload[key] = value
    assert_answers_for(payload, key)


@pytest.mark.parametrize("key", EVENT_KEYS)
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_every_odd_value_of_an_event_field_is_cleaned_or_named(key, value):
    payload = visit_body(events=[event_body(1), event_body(2), event_body(3)])
    payload["events"][1][key] = value
    assert_answers_for(payload, f"events[1].{key}")


@pytest.mark.parametrize("key", ["sku", "score"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_every_odd_value_of_a_candidate_field_is_cleaned_or_named(key, value):
    payload = visit_body()
    payload["events"][0]["candidates"] = [{"sku": "SKU-0002", "score": 0.1}, {"sku": "SKU-0003", "score": 0.2}]
    payload["events"][0]["candidates"][1][key] = value
    assert_answers_for(payload, f"events[0].candidates[1].{key}")


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
def test_random_values_anywhere_are_cleaned_or_named(where, key, value):
    payload = visit_body()
    target, path = {
        "visit": (payload, key),
        "event": (payload["events"][1], f"events[1].{key}"),
        "candidate": (payload["events"][0]["candidates"][0], f"events[0].candidates[0].{key}"),
    }[where]
    target[key] = value
    assert_answers_for(payload, path)


def test_the_cleaned_form_of_a_body_hashes_as_stored_visits_were_hashed():
    """Pinned from the hand-written checker this one replaced: a change here would turn every
    replay of an already stored visit into a 409."""
    trimmed = event_body(2, sku=" SKU-0002 ", camera=None, candidates=[], snippet="clip-1", unknown="x")
    defaults = {k: v for k, v in event_body(3).items() if k not in ("quantity", "camera", "candidates")}
    payload = visit_body(
        external_id="v-pinned",
        entered_at="2026-11-24T11:01:02+01:00",
        events=[event_body(1, quantity=2, action="put_back", confidence=1), trimmed, defaults],
    )
    digest = body_sha256(visit_check(store=Store, payload=payload))
    assert digest == "755d063cb27423636add7b02a6749eb5798e3564857488415a31dd72bcd08fca"
