"""The cart rule (`validation.carts.Cart`), fed the cases the browser's copy of it is fed too
(`cart_cases.json`, shared with the workbench's JavaScript test)."""

import json
from pathlib import Path

import pytest

from validation.carts import Cart
from validation.models import Event

CASES = json.loads((Path(__file__).parent / "cart_cases.json").read_text())


def test_the_cases_cover_the_rule_and_use_the_models_action_names():
    assert len(CASES) >= 12
    actions = {item["action"] for case in CASES for item in [*case["events"], *case["missed"]]}
    assert actions == set(Event.Action.values)
    verdicts = {v["verdict"] for case in CASES for v in case["verdicts"]}
    assert verdicts == {"confirm", "correct", "reject"}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_predicted_cart_comes_from_the_events(case):
    cart = Cart.from_events(case["events"])
    assert list(cart.quantities.items()) == list(case["predicted"].items())


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_cart_after_review_comes_from_the_verdicts_and_the_missed_items(case):
    cart = Cart.from_verdicts(case["events"], case["verdicts"], case["missed"])
    assert list(cart.quantities.items()) == list(case["after"].items())
    assert Cart.from_events(case["events"]).diff(cart) == {
        sku: delta
        for sku in {**case["predicted"], **case["after"]}
        if (delta := case["after"].get(sku, 0) - case["predicted"].get(sku, 0))
    }


def test_carts_holding_the_same_quantities_are_equal_whatever_their_order():
    assert Cart({"A": 1, "B": 2}) == Cart({"B": 2, "A": 1})
    assert Cart({"A": 1}) != Cart({"A": 2})


def test_stored_lines_of_one_sku_add_up_and_nothing_at_or_below_zero_stays():
    lines = [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 0}, {"sku": "A", "quantity": "2"}]
    assert Cart.from_lines(lines).quantities == {"A": 3}
    assert Cart.from_lines(None) == Cart({})


def test_lines_are_priced_by_the_lookup_given():
    class Product:
        def __init__(self, sku):
            self.sku, self.name, self.price_minor = sku, f"Product {sku}", 150

    (line,) = Cart({"A": 2}).lines(Product)
    assert (line.sku, line.quantity, line.total_minor) == ("A", 2, 300)
    assert line.as_dict() == {"sku": "A", "name": "Product A", "quantity": 2, "price_minor": 150}
