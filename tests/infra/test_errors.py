"""The error shape's text, and the check of text the database cannot store."""

import json

import pytest

from infra.errors import LoupeError, error_body
from infra.text import storable, unstorable


def test_an_error_quoting_a_lone_surrogate_is_still_writable_as_utf8():
    body = error_body("invalid_choice", '"\ud800" is not a valid choice.', field="filters.\ud800")
    assert body == {
        "error": {"code": "invalid_choice", "detail": '"\\ud800" is not a valid choice.', "field": "filters.\\ud800"}
    }
    json.dumps(body, ensure_ascii=False).encode()  # what DRF's renderer does: no UnicodeEncodeError


def test_plain_and_accented_text_is_left_as_it_is():
    assert error_body("x", "Café ☕", field="é") == {"error": {"code": "x", "detail": "Café ☕", "field": "é"}}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("S001\x00", "null_characters_not_allowed"),
        ("bad \ud800", "surrogate_characters_not_allowed"),
        ("\udfff", "surrogate_characters_not_allowed"),
    ],
)
def test_text_no_query_can_carry_is_refused_with_drfs_codes(value, code):
    assert unstorable(value)[0] == code
    with pytest.raises(LoupeError) as error:
        storable(value, "reason")
    assert (error.value.code, error.value.field) == (code, "reason")


@pytest.mark.parametrize("value", ["", "S001", "Crème brûlée 🍮", "\U0001f600"])
def test_storable_text_passes(value):
    assert unstorable(value) is None
    assert storable(value, "name") == value
