"""The cart: net quantity per sku, the one place that rule is written in Python.

A cart is what the shopper leaves with: per sku, takes minus put-backs; a sku netting to zero
or less is not in it (a put-back of something never taken does not make a credit). Skus keep
the order in which they first appear. Two carts are equal when they hold the same quantities,
whatever that order.

Built from the model's events (the predicted cart), from an associate's verdicts on them plus
the items the model missed (the final cart), or from stored cart/receipt lines. The browser's
copy of the rule (`static/js/workbench.js`, renderCart) is fed the same cases as this module:
`tests/validation/cart_cases.json`.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

from validation.models import Event

SIGN = {Event.Action.TAKE.value: 1, Event.Action.PUT_BACK.value: -1}


class Priced(Protocol):
    """What a cart line needs of a product (a `catalog.Product`, a workbench `ProductCard`)."""

    sku: str
    name: str
    price_minor: int


P = TypeVar("P", bound=Priced)


@dataclass(frozen=True)
class CartLine(Generic[P]):
    product: P
    quantity: int

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def total_minor(self) -> int:
        return self.product.price_minor * self.quantity

    def as_dict(self) -> dict:
        """The line as `Visit.predicted_cart` / `final_cart` store it and the API shows it."""
        p = self.product
        return {"sku": p.sku, "name": p.name, "quantity": self.quantity, "price_minor": p.price_minor}


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, Mapping) else getattr(item, name)


@dataclass(frozen=True)
class Cart:
    """Net quantities by sku, all above zero, in order of first appearance."""

    quantities: Mapping[str, int]

    @classmethod
    def from_moves(cls, moves: Iterable[tuple[str, str, int]]) -> Self:
        """From `(sku, action, quantity)` moves; `action` is `take` or `put_back`."""
        net: dict[str, int] = {}
        for sku, action, quantity in moves:
            net[sku] = net.get(sku, 0) + SIGN[action] * quantity
        return cls({sku: quantity for sku, quantity in net.items() if quantity > 0})

    @classmethod
    def from_events(cls, events: Iterable[Any]) -> Self:
        """The model's cart: every event (an `Event`, or a mapping with sku, action, quantity)
        as predicted."""
        return cls.from_moves((_field(e, "sku"), _field(e, "action"), _field(e, "quantity")) for e in events)

    @classmethod
    def from_verdicts(cls, events: Iterable[Any], verdicts: Iterable[Mapping], missed: Iterable[Mapping]) -> Self:
        """The human cart: each event as its verdict says (`confirm`: as predicted; `correct`:
        the verdict's sku, action and quantity; `reject`: it did not happen), plus `missed`.
        `verdicts` are the result's `[{"event": <event id>, "verdict", ...}]`, one per event;
        an event is matched by `str(event.id)` (or `event["id"]`)."""
        by_event = {str(v["event"]): v for v in verdicts}

        def moves():
            for event in events:
                verdict = by_event[str(_field(event, "id"))]
                if verdict["verdict"] == "confirm":
                    yield _field(event, "sku"), _field(event, "action"), _field(event, "quantity")
                elif verdict["verdict"] == "correct":
                    yield verdict["sku"], verdict["action"], verdict["quantity"]
            for item in missed:
                yield item["sku"], item["action"], item["quantity"]

        return cls.from_moves(moves())

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping] | None) -> Self:
        """From stored lines (`[{"sku", "quantity"}]`: a visit's cart, a receipt's lines);
        lines of one sku add up."""
        return cls.from_moves((line["sku"], "take", int(line["quantity"])) for line in lines or ())

    def lines(self, product: Callable[[str], P]) -> list[CartLine[P]]:
        """The cart priced: `product(sku)` gives each line's name and unit price (a
        `dict.__getitem__` raises KeyError for an unknown sku; a lookup may return a stand-in)."""
        return [CartLine(product(sku), quantity) for sku, quantity in self.quantities.items()]

    def diff(self, other: "Cart") -> dict[str, int]:
        """Per sku, how `other` differs from this cart (`other − self`), non-zero deltas only,
        this cart's skus first."""
        old, new = self.quantities, other.quantities
        return {sku: delta for sku in dict.fromkeys([*old, *new]) if (delta := new.get(sku, 0) - old.get(sku, 0))}
