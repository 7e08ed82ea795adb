"""What a supervisor sees when reviewing a submitted visit validation: the visit as the
workbench showed it (clips, products by name), the model against the associate per event, the
items the associate added, and the cart diff. Registered as the `visit_validation` kind's
`review_context` hook; `compare` tells a rejected associate what the next answer changed.

Built from the task's frozen payload and the annotation's result only: no shopper token.
"""

from dataclasses import dataclass

from django.urls import reverse

from annotator.models import GoldScore, GoldTask
from catalog.selectors import ProductCard, product_cards, unknown_card
from validation.carts import SIGN, Cart
from validation.visit_screen import ScreenEvent, visit_task_context

VERDICT_WORDS = {"confirm": "confirmed", "correct": "corrected", "reject": "did not happen", "unsure": "can't tell"}


@dataclass(frozen=True)
class ReviewedEvent:
    event: ScreenEvent
    verdict: str  # confirm, correct, reject, or another verdict a later version may add
    # What the associate said happened (None when they said it did not happen).
    action: str | None
    quantity: int | None
    product: ProductCard | None

    @property
    def verdict_word(self) -> str:
        return VERDICT_WORDS.get(self.verdict, self.verdict)

    @property
    def differs(self) -> bool:
        return self.verdict != "confirm"


@dataclass(frozen=True)
class MissedItem:
    action: str
    quantity: int
    product: ProductCard


@dataclass(frozen=True)
class DiffLine:
    product: ProductCard
    delta: int


def _result_parts(result) -> tuple[list[dict], list[dict]]:
    result = result if isinstance(result, dict) else {}
    verdicts = [v for v in result.get("events") or [] if isinstance(v, dict)]
    missed = [m for m in result.get("missed") or [] if isinstance(m, dict) and m.get("action") in SIGN]
    return verdicts, missed


def _payload_events(task) -> list[dict]:
    payload = task.payload if isinstance(task.payload, dict) else {}
    return [e for e in payload.get("events", []) if isinstance(e, dict) and e.get("action") in SIGN]


def _human_cart(task, result) -> Cart:
    verdicts, missed = _result_parts(result)
    events = _payload_events(task)
    known = {str(v.get("event")) for v in verdicts}
    # An event without a verdict (never for a validated result) counts as confirmed.
    verdicts += [{"event": str(e.get("id")), "verdict": "confirm"} for e in events if str(e.get("id")) not in known]
    return Cart.from_verdicts(events, verdicts, missed)


def visit_review_context(task, annotation, user) -> dict:
    """The review page's visit part: three queries for the screen, one for the answer's products."""
    screen = visit_task_context(task, user)
    verdicts, missed = _result_parts(annotation.result)
    by_event = {str(v.get("event")): v for v in verdicts}
    skus = {v.get("sku") for v in verdicts} | {m.get("sku") for m in missed}
    skus |= set(Cart.from_events(_payload_events(task)).quantities)
    cards = product_cards(store_id=task.store_id, skus=skus)

    def card(sku) -> ProductCard:
        return cards.get(sku) or unknown_card(str(sku))

    reviewed = []
    for event in screen["events"]:
        verdict = by_event.get(event.id, {"verdict": "confirm"})
        name = verdict.get("verdict")
        if name == "correct":
            action, quantity, product = verdict.get("action"), verdict.get("quantity"), card(verdict.get("sku"))
        elif name == "confirm":
            action, quantity, product = event.action, event.quantity, event.product
        else:  # reject (it did not happen), or a verdict that names no product
            action, quantity, product = None, None, None
        reviewed.append(ReviewedEvent(event, str(name), action, quantity, product))
    predicted = Cart.from_events(_payload_events(task))
    human = _human_cart(task, annotation.result)
    diff = [DiffLine(card(sku), delta) for sku, delta in predicted.diff(human).items()]
    return {
        "reviewed_events": reviewed,
        "missed_items": [
            MissedItem(m["action"], m.get("quantity") if isinstance(m.get("quantity"), int) else 1, card(m.get("sku")))
            for m in missed
        ],
        "predicted_cart": screen["predicted_cart"],
        "human_cart": human.lines(card),
        "cart_diff": diff,
        "currency": screen["currency"],
        # "Make this a gold visit" (a supervisor's page): not for an answer to gold itself.
        "gold_url": None if GoldTask.objects.filter(pk=task.pk).exists() else gold_url(task.subject_id),
        "gold_score": GoldScore.objects.filter(annotation=annotation).first(),
    }


def gold_url(visit_id) -> str:
    return reverse("validation:gold_from_visit", args=[visit_id])


def visit_compare(task, rejected: dict, later: dict) -> list[str]:
    """How the later answer's cart differs from the rejected one's, one sentence per product."""
    skus = set()
    before, after = _human_cart(task, rejected), _human_cart(task, later)
    diff = before.diff(after)
    skus |= set(diff)
    cards = product_cards(store_id=task.store_id, skus=skus)
    lines = []
    for sku, delta in diff.items():
        name = cards[sku].name if sku in cards else sku
        lines.append(f"Cart: {'+' if delta > 0 else '−'}{abs(delta)} × {name}")
    return lines or ["The cart came out the same: the difference was in the details of the events."]
