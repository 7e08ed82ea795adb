"""Visit ingestion: check a visit body whole, store it whole, route it.

`visit_ingest` is the one door for visits (the API, the bulk API and the demo seeder all
use it). Checking happens in two steps, both before anything is written: the shape (types,
ranges, required fields; `validation.schemas.VisitIn`) and then the references (every sku,
camera and snippet must exist in the visit's store), each reference kind looked up in one
query for all the events at once.
"""

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from annotator.models import Queue, Snippet, Task
from annotator.services.queues import queue_for
from catalog.errors import Conflict, LoupeError, first_validation_error
from catalog.models import Camera, Product, Store
from validation.models import Event, Receipt, Visit
from validation.schemas import MAX_EVENTS, VisitIn
from validation.services.routing import route_decide, visit_route
from validation.visit_kind import VISIT_VALIDATION

# One bound instance, reused: binding a serializer deep-copies its fields, which costs more
# than validating a small visit. `run_validation` keeps no state on the instance (DRF's own
# ListSerializer reuses its child the same way).
_VISIT_SHAPE = VisitIn()


@dataclass(frozen=True)
class IngestResult:
    visit: Visit
    # False when the same body had been stored before (a replay).
    created: bool
    # Set only when created: the task queued (review or audit) and the receipt issued.
    task: Task | None = None
    receipt: Receipt | None = None


class StoreCatalog:
    """The rows of one store that visit events refer to, loaded in one query per kind for
    all the codes asked for at once. A bulk request shares one per store across its visits.
    Codes looked up and not found are remembered as missing."""

    def __init__(self, store: Store):
        self.store = store
        self.products: dict[str, Product | None] = {}
        self.cameras: dict[str, Camera | None] = {}
        self.snippets: dict[str, Snippet | None] = {}
        # Visits already stored, by external_id (None: known not to exist when loaded).
        self.visits: dict[str, Visit | None] = {}
        self._queue: Queue | None = None

    def load(
        self,
        *,
        skus: Iterable[str] = (),
        cameras: Iterable[str] = (),
        snippets: Iterable[str] = (),
        visits: Iterable[str] = (),
    ) -> None:
        self._fill(self.visits, Visit.objects.filter(store=self.store).select_related("store"), "external_id", visits)
        self._fill(self.products, Product.objects.filter(store=self.store), "sku", skus)
        self._fill(self.cameras, Camera.objects.filter(store=self.store), "code", cameras)
        self._fill(self.snippets, Snippet.objects.filter(store=self.store), "external_id", snippets)

    @staticmethod
    def _fill(cache: dict, queryset, key: str, wanted: Iterable[str]) -> None:
        missing = {code for code in wanted if code is not None and code not in cache}
        if not missing:
            return
        cache.update(dict.fromkeys(missing))
        cache.update((getattr(row, key), row) for row in queryset.filter(**{f"{key}__in": missing}))

    @property
    def queue(self) -> Queue:
        if self._queue is None:
            self._queue = queue_for(store=self.store, kind=VISIT_VALIDATION)
        return self._queue


def visit_check(*, store: Store, payload: object) -> dict:
    """Check the shape of a visit body; return the cleaned data (timestamps in UTC, defaults
    filled in). Raises LoupeError (400) naming the first field at fault. Reads nothing."""
    if not isinstance(payload, dict):
        raise LoupeError("The visit must be a JSON object.", code="invalid")
    events = payload.get("events")
    if isinstance(events, list) and len(events) > MAX_EVENTS:
        raise LoupeError(
            f"A visit has at most {MAX_EVENTS} events; this one has {len(events)}.",
            code="too_many_events",
            field="events",
        )
    try:
        data = _VISIT_SHAPE.run_validation(payload)
    except ValidationError as exc:
        code, detail, field = first_validation_error(exc.detail)
        raise LoupeError(detail, code=code, field=field) from None
    if data["store"] != store.code:
        raise LoupeError(
            f"This visit is for store {data['store']!r}, not {store.code!r}.", code="wrong_store", field="store"
        )
    seen: set[str] = set()
    for index, event in enumerate(data["events"]):
        if event["external_id"] in seen:
            raise LoupeError(
                f"Event external_id {event['external_id']!r} appears twice.",
                code="duplicate_event",
                field=f"events[{index}].external_id",
            )
        seen.add(event["external_id"])
    return data


def body_sha256(data: dict) -> str:
    """Hash of the canonical form of a checked visit body: keys sorted, timestamps in UTC,
    defaults filled in, unknown keys gone. Two bodies that mean the same visit hash alike."""

    def default(value):
        return value.isoformat()

    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(store: Store, external_id: str, digest: str, catalog: StoreCatalog | None = None) -> Visit | None:
    if catalog is not None and external_id in catalog.visits:
        visit = catalog.visits.pop(external_id)  # only trusted once: the next look goes to the table
    else:
        visit = Visit.objects.filter(store=store, external_id=external_id).select_related("store").first()
    if visit is not None and visit.body_sha256 != digest:
        raise Conflict(
            f"Visit {external_id!r} was already received with a different body.",
            code="duplicate_external_id",
            field="external_id",
        )
    return visit


def _resolve(catalog: StoreCatalog, data: dict) -> None:
    events = data["events"]
    catalog.load(
        skus=(e["sku"] for e in events),
        cameras=(e["camera"] for e in events),
        snippets=(e["snippet"] for e in events),
    )
    for index, event in enumerate(events):
        if catalog.products[event["sku"]] is None:
            raise LoupeError(
                f"No product {event['sku']!r} in this store.", code="unknown_sku", field=f"events[{index}].sku"
            )
        if event["camera"] is not None and catalog.cameras[event["camera"]] is None:
            raise LoupeError(
                f"No camera {event['camera']!r} in this store.", code="unknown_camera", field=f"events[{index}].camera"
            )
        if event["snippet"] is not None and catalog.snippets[event["snippet"]] is None:
            raise LoupeError(
                f"No snippet {event['snippet']!r} in this store.",
                code="unknown_snippet",
                field=f"events[{index}].snippet",
            )


def predicted_cart(events: Iterable[Event]) -> list[dict]:
    """Net quantity per sku (takes minus put-backs), in order of first appearance; skus
    netting to zero or less are left out."""
    net: dict[str, int] = {}
    products: dict[str, Product] = {}
    for event in events:
        sign = 1 if event.action == Event.Action.TAKE else -1
        net[event.sku] = net.get(event.sku, 0) + sign * event.quantity
        products[event.sku] = event.product
    return [
        {"sku": sku, "name": products[sku].name, "quantity": quantity, "price_minor": products[sku].price_minor}
        for sku, quantity in net.items()
        if quantity > 0
    ]


def visit_ingest(
    *,
    store: Store,
    payload: object,
    rng: random.Random | None = None,
    catalog: StoreCatalog | None = None,
) -> IngestResult:
    """Check, store and route one visit body (the raw API body) for `store`.

    Guarantees: the visit, its events, its predicted cart and its routing outcome (review
    task, or receipt and maybe an audit task) are written in one transaction, or nothing is.
    Idempotent on store + external_id: the same body (by `body_sha256`) again returns the
    stored visit with `created=False`; a different body raises Conflict
    `duplicate_external_id`. Locks no rows: two concurrent posts of one visit race on the
    unique constraint (store, external_id); the loser rolls back to its savepoint, re-reads
    the winner's row and answers as a replay. Raises LoupeError (400) for bad input, naming
    the field. `rng` drives the audit lottery (default `routing.audit_rng`); `catalog` lets
    a bulk caller share catalog lookups across visits of one store.
    """
    data = visit_check(store=store, payload=payload)
    digest = body_sha256(data)
    if (existing := _replay(store, data["external_id"], digest, catalog)) is not None:
        return IngestResult(visit=existing, created=False)
    catalog = catalog or StoreCatalog(store)
    _resolve(catalog, data)

    visit = Visit(
        store=store,
        external_id=data["external_id"],
        shopper=data["shopper"],
        entered_at=data["entered_at"],
        exited_at=data["exited_at"],
        model_version=data["model_version"],
        body_sha256=digest,
    )
    events = [
        Event(
            visit=visit,
            seq=seq,
            external_id=e["external_id"],
            action=e["action"],
            product=catalog.products[e["sku"]],
            sku=e["sku"],
            quantity=e["quantity"],
            confidence=e["confidence"],
            occurred_at=e["occurred_at"],
            camera=catalog.cameras[e["camera"]] if e["camera"] is not None else None,
            snippet=catalog.snippets[e["snippet"]] if e["snippet"] is not None else None,
            candidates=[dict(c) for c in e["candidates"]],
        )
        for seq, e in enumerate(data["events"])
    ]
    decision = route_decide(store=store, exited_at=visit.exited_at, confidences=(e.confidence for e in events), rng=rng)
    for name, value in decision.visit_fields().items():
        setattr(visit, name, value)
    visit.predicted_cart = predicted_cart(events)
    if visit.status == Visit.Status.AUTO_ACCEPTED:
        visit.final_cart = visit.predicted_cart

    try:
        with transaction.atomic():
            # The visit row goes first: a unique-constraint race on it fails before anything
            # else is written, and rolling back this block is all the cleanup there is.
            visit.save(force_insert=True)
            Event.objects.bulk_create(events)
            products = {sku: product for sku, product in catalog.products.items() if product is not None}
            queue = catalog.queue if visit.status == Visit.Status.PENDING_REVIEW or visit.audited else None
            routed = visit_route(visit=visit, events=events, products=products, queue=queue)
    except IntegrityError:
        if (existing := _replay(store, data["external_id"], digest)) is None:
            raise
        return IngestResult(visit=existing, created=False)
    return IngestResult(visit=visit, created=True, task=routed.task, receipt=routed.receipt)
