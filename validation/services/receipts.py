"""Receipts: the one place they are created. A receipt is never edited; a correction issues
a new one that `supersedes` the old one (kind `receipt.corrected`)."""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from infra.errors import LoupeError
from validation.carts import Cart
from validation.models import Receipt, ReceiptLine, Visit
from validation.webhooks import webhooks_announce


def receipt_turnaround(*, visit: Visit, issued_at: dt.datetime) -> dict:
    """The turnaround fields of a visit's first receipt issued at `issued_at` (see
    `validation.metrics`): store, routing decision, exit, seconds from exit to receipt, and
    whether that is inside the visit's SLA (`due_at − exited_at` as routed, else the store's
    `sla_minutes`, as it is now)."""
    turnaround_s = (issued_at - visit.exited_at).total_seconds()
    if visit.due_at is not None:
        sla_s = (visit.due_at - visit.exited_at).total_seconds()
    else:
        sla_s = visit.store.sla_minutes * 60.0
    return {
        "store_id": visit.store_id,
        "decision": visit.decision,
        "exited_at": visit.exited_at,
        "turnaround_s": turnaround_s,
        "inside_sla": turnaround_s <= sla_s,
    }


@dataclass(frozen=True)
class ReceiptDraft:
    """One receipt to issue: `lines` (`[{"sku", "quantity"}]`, e.g. a cart) of `visit`,
    superseding `supersedes` if given. `products` (by sku, of the visit's store) lets a caller
    that already holds the catalog rows skip the lookup."""

    visit: Visit
    lines: Iterable[Mapping]
    supersedes: Receipt | None = None
    products: Mapping[str, Product] | None = None


@transaction.atomic
def receipt_issue(
    *,
    visit: Visit,
    lines: Iterable[Mapping],
    supersedes: Receipt | None = None,
    products: Mapping[str, Product] | None = None,
) -> Receipt:
    """`receipts_issue` for one receipt, in a savepoint of its own: if it raises, the
    caller's transaction is still usable."""
    draft = ReceiptDraft(visit=visit, lines=lines, supersedes=supersedes, products=products)
    return receipts_issue(drafts=[draft])[0]


@transaction.atomic(savepoint=False)
def receipts_issue(*, drafts: Sequence[ReceiptDraft]) -> list[Receipt]:
    """Issue a receipt per draft, with its webhook event and deliveries, in a fixed number of
    statements whatever the count (receipts, lines, events, deliveries and their task runs;
    plus a catalog lookup per draft given without `products`).

    Unit prices and names come from the store's catalog (not from the lines), line totals
    and the total are computed here, the currency is the store's. The lines are read as a
    `Cart`: lines of one sku are merged, lines netting to zero or less are dropped, so an
    empty cart gives an empty receipt with total 0. A first receipt records the visit's
    turnaround; one that supersedes another is `receipt.corrected`.

    Joins the caller's transaction without a savepoint (ingestion's own): if this raises,
    the caller must roll back. Locks nothing itself: a caller superseding a receipt must
    hold the visit's row lock (the one-to-one `supersedes` is the backstop against two
    corrections superseding the same receipt). Raises `unknown_sku` for an sku not in the store.
    """
    now = timezone.now()
    receipts, all_lines = [], []
    for draft in drafts:
        visit = draft.visit
        cart = Cart.from_lines(draft.lines)
        receipt_lines = _receipt_lines(cart, _catalog(draft, cart))
        receipt = Receipt(
            visit=visit,
            supersedes=draft.supersedes,
            kind=Receipt.Kind.CORRECTED if draft.supersedes else Receipt.Kind.ISSUED,
            total_minor=sum(line.total_minor for line in receipt_lines),
            currency=visit.store.currency,
            issued_at=now,
            **({} if draft.supersedes else receipt_turnaround(visit=visit, issued_at=now)),
        )
        for line in receipt_lines:
            line.receipt = receipt
        # Kept on the instance so the response and the webhook body need no second read.
        receipt.issued_lines = receipt_lines
        receipts.append(receipt)
        all_lines.extend(receipt_lines)
    if not receipts:
        return []
    Receipt.objects.bulk_create(receipts)
    ReceiptLine.objects.bulk_create(all_lines, batch_size=2000)
    # The webhook outbox (one event id per receipt, delivered at-least-once) is written in
    # this transaction, so billing hears of a receipt if and only if it commits.
    webhooks_announce(announcements=[(receipt, receipt_data(receipt)) for receipt in receipts])
    return receipts


def _catalog(draft: ReceiptDraft, cart: Cart) -> Mapping[str, Product]:
    catalog = dict(draft.products or {})
    if missing := [sku for sku in cart.quantities if sku not in catalog]:
        catalog.update((p.sku, p) for p in Product.objects.filter(store_id=draft.visit.store_id, sku__in=missing))
    return catalog


def _receipt_lines(cart: Cart, catalog: Mapping[str, Product]) -> list[ReceiptLine]:
    receipt_lines = []
    for position, (sku, quantity) in enumerate(cart.quantities.items()):
        product = catalog.get(sku)
        if product is None:
            raise LoupeError(f"No product {sku!r} in this store.", code="unknown_sku", field="lines")
        receipt_lines.append(
            ReceiptLine(
                position=position,
                sku=sku,
                name=product.name,
                quantity=quantity,
                price_minor=product.price_minor,
                total_minor=product.price_minor * quantity,
            )
        )
    return receipt_lines


def receipt_data(receipt: Receipt) -> dict:
    """The receipt as the API and the billing webhook show it."""
    lines = getattr(receipt, "issued_lines", None)
    if lines is None:
        lines = list(receipt.lines.all())
    return {
        "id": str(receipt.id),
        "visit": str(receipt.visit_id),
        "kind": receipt.kind,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "price_minor": line.price_minor,
                "total_minor": line.total_minor,
            }
            for line in lines
        ],
        "total_minor": receipt.total_minor,
        "currency": receipt.currency,
        "issued_at": receipt.issued_at.isoformat(),
        "supersedes": str(receipt.supersedes_id) if receipt.supersedes_id else None,
    }
