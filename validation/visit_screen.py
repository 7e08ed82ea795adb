"""What the visit-validation screen shows, built from the task's frozen payload: the events
(with product cards, candidates and snippet media) and the predicted cart. Registered as the
`visit_validation` kind's `context` hook, so the annotator's views never import validation.

Never the shopper token: the payload does not carry it and nothing here reads the visit row.
"""

from dataclasses import dataclass, field

from django.urls import reverse

from annotator.models import Snippet
from catalog.selectors import ProductCard, product_cards, unknown_card
from validation.carts import SIGN, Cart
from validation.confidence import event_is_sure

MAX_CANDIDATES = 9


@dataclass(frozen=True)
class Candidate:
    key: int
    score: float | None
    product: ProductCard


@dataclass(frozen=True)
class ScreenSnippet:
    id: str
    video_url: str
    poster_url: str
    fps: float
    width: int
    height: int


@dataclass(frozen=True)
class ScreenEvent:
    id: str
    number: int
    action: str
    quantity: int
    confidence: float
    low: bool
    occurred_at: str
    camera: str
    product: ProductCard
    candidates: list[Candidate] = field(default_factory=list)
    snippet: ScreenSnippet | None = None
    # What earlier associates said about this event (the task came back after "can't tell").
    earlier: list[str] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def confidence_pct(self) -> int:
        return round(self.confidence * 100)


def _float(value, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _by_score(candidates: list[dict]) -> list[dict]:
    """Highest score first, so key 1 is the model's best guess; unscored last, in payload order."""
    return sorted(candidates, key=lambda c: -_float(c.get("score"), -1.0))


def _snippets(task, ids: set[str]) -> dict[str, ScreenSnippet]:
    if not ids:
        return {}
    rows = Snippet.objects.filter(store_id=task.store_id, pk__in=ids).values_list("pk", "fps", "width", "height")
    return {
        str(pk): ScreenSnippet(
            id=str(pk),
            video_url=reverse("annotator:snippet_video", args=[pk]),
            poster_url=reverse("annotator:snippet_poster", args=[pk]),
            fps=fps or 15.0,
            width=width,
            height=height,
        )
        for pk, fps, width, height in rows
    }


EARLIER_WORDS = {
    "confirm": "confirmed",
    "correct": "corrected",
    "reject": "did not happen",
    "unsure": "can't tell",
}


def _earlier(payload: dict) -> dict[str, list[str]]:
    """{event id: what each earlier answer said of it, in order}, from the payload's
    `earlier` answers (`validation.services.unsure`)."""
    said: dict[str, list[str]] = {}
    for answer in payload.get("earlier") or []:
        for item in answer.get("events") or [] if isinstance(answer, dict) else []:
            if not isinstance(item, dict):
                continue
            word = EARLIER_WORDS.get(item.get("verdict"), str(item.get("verdict")))
            if item.get("verdict") == "correct":
                word += f" to {item.get('quantity')} × {item.get('sku')} ({item.get('action')})"
            said.setdefault(str(item.get("event")), []).append(word)
    return said


def visit_task_context(task, user) -> dict:
    """Page context of one visit-validation task: three queries (store, products, snippets)."""
    payload = task.payload if isinstance(task.payload, dict) else {}
    raw_events = [e for e in payload.get("events", []) if isinstance(e, dict)]
    threshold = _float(payload.get("threshold"), task.store.auto_accept_threshold)
    skus = {e.get("sku") for e in raw_events}
    skus |= {c.get("sku") for e in raw_events for c in e.get("candidates") or [] if isinstance(c, dict)}
    cards = product_cards(store_id=task.store_id, skus=skus)
    snippets = _snippets(task, {e["snippet"] for e in raw_events if e.get("snippet")})
    earlier = _earlier(payload)

    def card(sku) -> ProductCard:
        return cards.get(sku) or unknown_card(str(sku))

    events = []
    for number, raw in enumerate(raw_events, start=1):
        candidates = [
            Candidate(key=key, score=c.get("score"), product=card(c.get("sku")))
            for key, c in enumerate(
                _by_score(
                    [c for c in raw.get("candidates") or [] if isinstance(c, dict) and c.get("sku") != raw.get("sku")]
                )[:MAX_CANDIDATES],
                start=1,
            )
        ]
        confidence = _float(raw.get("confidence"))
        events.append(
            ScreenEvent(
                id=str(raw.get("id")),
                number=number,
                action=raw.get("action") if raw.get("action") in SIGN else "take",
                quantity=raw.get("quantity") if isinstance(raw.get("quantity"), int) else 1,
                confidence=confidence,
                low=not event_is_sure(confidence, threshold),
                occurred_at=raw.get("occurred_at") or "",
                camera=raw.get("camera") or "",
                product=card(raw.get("sku")),
                candidates=candidates,
                snippet=snippets.get(raw.get("snippet") or ""),
                earlier=earlier.get(str(raw.get("id")), []),
            )
        )
    cart = Cart.from_events(events).lines(card)
    return {
        "events": events,
        "low_count": sum(1 for e in events if e.low),
        "threshold": threshold,
        "predicted_cart": cart,
        "predicted_total_minor": sum(line.total_minor for line in cart),
        "currency": task.store.currency,
        "audit": task.purpose == "audit",
        "earlier_answers": len(payload.get("earlier") or []),
        "escalated": task.queue.supervisors_only,
    }
