"""Receipts: the one place they are created. A receipt is never edited; a correction issues
a new one that `supersedes` the old one (kind `receipt.corrected`)."""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from infra.errors import LoupeError
from validation.models import Receipt, ReceiptLine, Visit
from validation.webhooks import webhook_announce, webhooks_announce_many


def _announce(receipt: Receipt) -> None:
    """Tell billing about a new receipt.

    The webhook outbox (one event id per receipt, delivered
    at-least-once) plugs in at this single call site, inside the transaction that created
    the receipt, so the announcement commits with the receipt or not at all.
    """
    webhook_announce(receipt=receipt, data=receipt_data(receipt))


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


def _net_quantities(lines: Iterable[Mapping]) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line["sku"]] = quantities.get(line["sku"], 0) + int(line["quantity"])
    return {sku: quantity for sku, quantity in quantities.items() if quantity > 0}


@transaction.atomic
def receipt_issue(
    *,
    visit: Visit,
    lines: Iterable[Mapping],
    supersedes: Receipt | None = None,
    products: Mapping[str, Product] | None = None,
) -> Receipt:
    """Issue a receipt for `lines` (`[{"sku", "quantity"}]`, e.g. a cart) of `visit`.

    Unit prices and names come from the store's catalog (not from the lines), line totals
    and the total are computed here, the currency is the store's. Lines of one sku are
    merged; lines netting to zero or less are dropped, so an empty cart gives an empty
    receipt with total 0. `products` lets a caller that already holds the catalog rows
    skip the lookup. Locks nothing itself: a caller superseding a receipt must hold the
    visit's row lock (the one-to-one `supersedes` is the backstop against two corrections
    superseding the same receipt). Raises `unknown_sku` for an sku not in the store.
    """
    quantities = _net_quantities(lines)
    catalog = dict(products or {})
    if missing := [sku for sku in quantities if sku not in catalog]:
        catalog.update((p.sku, p) for p in Product.objects.filter(store_id=visit.store_id, sku__in=missing))
    receipt_lines = _receipt_lines(quantities, catalog)
    issued_at = timezone.now()
    receipt = Receipt.objects.create(
        visit=visit,
        supersedes=supersedes,
        kind=Receipt.Kind.CORRECTED if supersedes else Receipt.Kind.ISSUED,
        total_minor=sum(line.total_minor for line in receipt_lines),
        currency=visit.store.currency,
        issued_at=issued_at,
        **({} if supersedes else receipt_turnaround(visit=visit, issued_at=issued_at)),
    )
    for line in receipt_lines:
        line.receipt = receipt
    ReceiptLine.objects.bulk_create(receipt_lines)
    # Kept on the instance so the response and the webhook body need no second read.
    receipt.issued_lines = receipt_lines
    _announce(receipt)
    return receipt


def _receipt_lines(quantities: Mapping[str, int], catalog: Mapping[str, Product]) -> list[ReceiptLine]:
    receipt_lines = []
    for position, (sku, quantity) in enumerate(quantities.items()):
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


@transaction.atomic(savepoint=False)
def receipts_issue_many(*, carts: Sequence[tuple[Visit, Iterable[Mapping], Mapping[str, Product]]]) -> list[Receipt]:
    """Issue the first receipt of each freshly stored visit in `carts` (`(visit, lines,
    products)`, products by sku of the visit's store holding every sku of the lines, else
    `unknown_sku`) as `receipt_issue` would, in a fixed number of statements (receipts,
    lines, webhook events, deliveries and their task runs).

    Joins the caller's transaction without a savepoint (ingestion's own transaction): if this
    raises, the caller must roll back. The webhook outbox commits with the receipts.
    """
    now = timezone.now()
    receipts, all_lines = [], []
    for visit, lines, products in carts:
        receipt_lines = _receipt_lines(_net_quantities(lines), products)
        receipt = Receipt(
            visit=visit,
            kind=Receipt.Kind.ISSUED,
            total_minor=sum(line.total_minor for line in receipt_lines),
            currency=visit.store.currency,
            issued_at=now,
            **receipt_turnaround(visit=visit, issued_at=now),
        )
        for line in receipt_lines:
            line.receipt = receipt
        receipt.issued_lines = receipt_lines
        receipts.append(receipt)
        all_lines.extend(receipt_lines)
    if not receipts:
        return []
    Receipt.objects.bulk_create(receipts)
    ReceiptLine.objects.bulk_create(all_lines, batch_size=2000)
    webhooks_announce_many(announcements=[(receipt, receipt_data(receipt)) for receipt in receipts])
    return receipts


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
