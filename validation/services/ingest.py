"""Visit ingestion: check a visit body whole, store it whole, route it.

`visit_ingest` is the one door for visits (the API, the bulk API and the demo seeder all
use it). Checking happens in two steps, both before anything is written: the shape (types,
ranges, required fields; the serializer `validation.schemas.VisitIn`, the one definition,
which also describes the body in the OpenAPI schema) and then the references (every sku,
camera and snippet must exist in the visit's store, and so must every candidate's sku), each
reference kind looked up in one query for all the events at once.
"""

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import DataError, IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from annotator.models import Queue, Snippet, Task
from annotator.services.queues import queue_for
from catalog.models import Camera, Product, Store
from infra.errors import Conflict, LoupeError, first_validation_error
from validation.carts import Cart
from validation.models import Event, Receipt, Visit
from validation.schemas import MAX_EVENTS, VisitIn
from validation.services.routing import route_decide, visits_route_many
from validation.visit_kind import VISIT_VALIDATION

# Bound once: binding the nested fields of a fresh VisitIn costs more than checking a visit of
# 10 events, and `run_validation` keeps no state on the instance.
VISIT_IN = VisitIn()

# Events per INSERT: big enough that a bulk request of 10-event visits is one statement,
# small enough that 500 visits of 500 events do not make one 100 MB statement.
EVENT_BATCH = 5000


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
        stored = lambda: Visit.objects.filter(store=self.store).select_related("store")  # noqa: E731
        self._fill(self.visits, stored, "external_id", visits)
        self._fill(self.products, lambda: Product.objects.filter(store=self.store), "sku", skus)
        self._fill(self.cameras, lambda: Camera.objects.filter(store=self.store), "code", cameras)
        self._fill(self.snippets, lambda: Snippet.objects.filter(store=self.store), "external_id", snippets)

    @staticmethod
    def _fill(cache: dict, queryset: Callable[[], QuerySet], key: str, wanted: Iterable[str]) -> None:
        missing = {code for code in wanted if code is not None and code not in cache}
        if not missing:
            return
        cache.update(dict.fromkeys(missing))
        cache.update((getattr(row, key), row) for row in queryset().filter(**{f"{key}__in": missing}))

    @property
    def queue(self) -> Queue:
        if self._queue is None:
            self._queue = queue_for(store=self.store, kind=VISIT_VALIDATION)
        return self._queue

    @property
    def queue_if_loaded(self) -> Queue | None:
        return self._queue

    def found_products(self) -> dict[str, Product]:
        return {sku: product for sku, product in self.products.items() if product is not None}


def visit_check(*, store: Store, payload: object, any_age: bool = False) -> dict:
    """Check the shape of a visit body with `schemas.VisitIn`; return the cleaned data
    (timestamps in UTC, defaults filled in, unknown keys gone). Raises LoupeError (400)
    naming the first field at fault (`events[2].sku`) with the serializer's code and message.
    Reads nothing but the clock (a timestamp more than `schemas.MAX_AHEAD` in the future, or,
    unless `any_age`, more than `VISIT_MAX_AGE_DAYS` in the past, is refused)."""
    if not isinstance(payload, dict):
        raise LoupeError("The visit must be a JSON object.", code="invalid")
    events = payload.get("events")
    # Counted before the serializer, which would check every event of a huge list first.
    if isinstance(events, list) and len(events) > MAX_EVENTS:
        raise LoupeError(
            f"A visit has at most {MAX_EVENTS} events; this one has {len(events)}.",
            code="too_many_events",
            field="events",
        )
    try:
        data = (VisitIn(context={"any_age": True}) if any_age else VISIT_IN).run_validation(payload)
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


def _replay_of_old(store: Store, payload: object) -> IngestResult | LoupeError | None:
    """A body older than `VISIT_MAX_AGE_DAYS` that Loupe stored while it was younger is
    answered as any replay (200 with the visit; 409 `duplicate_external_id` for another body):
    a sender retrying late gets the answer it missed. None when no such visit is stored, or
    when the body has another fault: the caller answers `too_old`."""
    try:
        data = visit_check(store=store, payload=payload, any_age=True)
        existing = _replay(store, data["external_id"], body_sha256(data))
    except LoupeError as exc:
        return exc if exc.code == "duplicate_external_id" else None
    return IngestResult(visit=existing, created=False) if existing is not None else None


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


def _skus(events: Iterable[dict]) -> Iterator[str]:
    """Every sku the events name: their own and their candidates'."""
    for event in events:
        yield event["sku"]
        for candidate in event["candidates"]:
            yield candidate["sku"]


def _resolve(catalog: StoreCatalog, data: dict) -> None:
    events = data["events"]
    catalog.load(
        skus=_skus(events),
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
        for rank, candidate in enumerate(event["candidates"]):
            if catalog.products[candidate["sku"]] is None:
                raise LoupeError(
                    f"No product {candidate['sku']!r} in this store.",
                    code="unknown_sku",
                    field=f"events[{index}].candidates[{rank}].sku",
                )


def _build(store: Store, data: dict, digest: str, catalog: StoreCatalog, rng) -> tuple[Visit, list[Event]]:
    """The visit and event rows of a checked, resolved body, routed (decision, cart), unsaved."""
    visit = Visit(
        store=store,
        external_id=data["external_id"],
        shopper=data["shopper"],
        entered_at=data["entered_at"],
        exited_at=data["exited_at"],
        model_version=data["model_version"],
        body_sha256=digest,
    )
    products, cameras, snippets = catalog.products, catalog.cameras, catalog.snippets
    events = [
        Event(
            visit=visit,
            seq=seq,
            external_id=e["external_id"],
            action=e["action"],
            product=products[e["sku"]],
            sku=e["sku"],
            quantity=e["quantity"],
            confidence=e["confidence"],
            occurred_at=e["occurred_at"],
            camera=cameras[e["camera"]] if e["camera"] is not None else None,
            snippet=snippets[e["snippet"]] if e["snippet"] is not None else None,
            candidates=e["candidates"],
        )
        for seq, e in enumerate(data["events"])
    ]
    decision = route_decide(store=store, exited_at=visit.exited_at, confidences=(e.confidence for e in events), rng=rng)
    for name, value in decision.visit_fields().items():
        setattr(visit, name, value)
    visit.predicted_cart = [line.as_dict() for line in Cart.from_events(events).lines(products.__getitem__)]
    if visit.status == Visit.Status.AUTO_ACCEPTED:
        visit.final_cart = visit.predicted_cart
    return visit, events


def _needs_queue(visit: Visit) -> bool:
    return visit.status == Visit.Status.PENDING_REVIEW or visit.audited


def _write(planned: list[tuple[Visit, list[Event]]], catalogs: dict[int, StoreCatalog]) -> list:
    """INSERT the planned visits, their events and their routing outcome (receipts with
    their webhook outbox, tasks with their slots) in a fixed number of statements. Call
    inside a transaction. The visits go first: a unique-constraint race fails before
    anything else is written."""
    Visit.objects.bulk_create([visit for visit, _ in planned])
    Event.objects.bulk_create([event for _, events in planned for event in events], batch_size=EVENT_BATCH)
    products = {store_id: catalog.found_products() for store_id, catalog in catalogs.items()}
    routes = [(visit, events, products[visit.store_id]) for visit, events in planned]
    return visits_route_many(routes=routes, queues={sid: c.queue_if_loaded for sid, c in catalogs.items()})


def visit_ingest(
    *,
    store: Store,
    payload: object,
    rng: random.Random | None = None,
    catalog: StoreCatalog | None = None,
) -> IngestResult:
    """Check, store and route one visit body (the raw API body) for `store`:
    `visits_ingest_many` for one item, raising the LoupeError it would answer.

    Guarantees: the visit, its events, its predicted cart and its routing outcome (review
    task, or receipt and maybe an audit task) are written in one transaction, or nothing is.
    Idempotent on store + external_id: the same body (by `body_sha256`) again returns the
    stored visit with `created=False`; a different body raises Conflict
    `duplicate_external_id`. Locks no rows: two concurrent posts of one visit race on the
    unique constraint (store, external_id); the loser rolls back to its savepoint, re-reads
    the winner's row and answers as a replay. Raises LoupeError (400) for bad input, naming
    the field. `rng` drives the audit lottery (default `routing.audit_rng`); `catalog` lets
    a caller share catalog lookups across visits of one store.
    """
    catalogs = {store.id: catalog} if catalog is not None else None
    (outcome,) = visits_ingest_many(items=[(store, payload)], rng=rng, catalogs=catalogs)
    if isinstance(outcome, LoupeError):
        raise outcome
    return outcome


def visits_ingest_many(
    *,
    items: Sequence[tuple[Store, object]],
    rng: random.Random | None = None,
    catalogs: dict[int, StoreCatalog] | None = None,
) -> list[IngestResult | LoupeError]:
    """Check, store and route each `(store, body)` of `items` (see `visit_ingest` for what is
    guaranteed), answering per item (an IngestResult, or the LoupeError for it) in the
    items' order.

    Every body is checked first; the stored visits they name, then the catalog rows the new
    ones refer to, are read in one query per kind and store; then all new, good visits are
    written in one transaction of a fixed number of statements, whatever their count. Each
    visit is still stored whole or not at all, and the answers are those of posting the
    items one by one in order: a body whose external_id an earlier item of the batch already
    used is a replay (or a conflict) of it. If the batch write hits a unique-constraint race
    with another request (or any other integrity error), it rolls back and every visit of it
    is written on its own (`_ingest_alone`), which answers such races per visit. Locks no
    rows. `catalogs` (by store id) lets a caller share lookups across calls.
    """
    results: list[IngestResult | LoupeError | None] = [None] * len(items)
    checked = []
    for index, (store, payload) in enumerate(items):
        try:
            checked.append((index, store, visit_check(store=store, payload=payload)))
        except LoupeError as exc:
            results[index] = (_replay_of_old(store, payload) if exc.code == "too_old" else None) or exc
    catalogs = dict(catalogs or {})
    for store in {store.id: store for _, store, _ in checked}.values():
        catalog = catalogs.setdefault(store.id, StoreCatalog(store))
        catalog.load(visits={data["external_id"] for _, s, data in checked if s.id == store.id})

    fresh, later = [], []
    claimed: set[tuple[int, str]] = set()
    for index, store, data in checked:
        key = (store.id, data["external_id"])
        if key in claimed:  # a second body for a visit of this batch: answered after it is stored
            later.append((index, store, data))
            continue
        try:
            digest = body_sha256(data)
            existing = _replay(store, data["external_id"], digest, catalogs[store.id])
        except LoupeError as exc:
            results[index] = exc
            continue
        if existing is not None:
            results[index] = IngestResult(visit=existing, created=False)
            continue
        claimed.add(key)
        fresh.append((index, store, data, digest))

    for store_id, catalog in catalogs.items():
        events = [e for _, store, data, _ in fresh if store.id == store_id for e in data["events"]]
        catalog.load(
            skus=set(_skus(events)),
            cameras={e["camera"] for e in events},
            snippets={e["snippet"] for e in events},
        )
    planned, planned_at = [], []
    for index, store, data, digest in fresh:
        try:
            planned.append(_plan(store, data, digest, catalogs[store.id], rng))
        except LoupeError as exc:
            results[index] = exc
        else:
            planned_at.append((index, store, data))

    if planned:
        try:
            with transaction.atomic():
                routed = _write(planned, catalogs)
        except (IntegrityError, DataError):
            later = planned_at + later
        else:
            for (index, _, _), (visit, _), outcome in zip(planned_at, planned, routed, strict=True):
                results[index] = IngestResult(visit=visit, created=True, task=outcome.task, receipt=outcome.receipt)
    for index, store, data in sorted(later, key=lambda item: item[0]):
        try:
            results[index] = _ingest_alone(store, data, catalogs[store.id], rng)
        except LoupeError as exc:
            results[index] = exc
    return results


def _plan(store: Store, data: dict, digest: str, catalog: StoreCatalog, rng) -> tuple[Visit, list[Event]]:
    """The rows of a new visit, its references resolved and its queue at hand."""
    _resolve(catalog, data)
    visit, events = _build(store, data, digest, catalog, rng)
    if _needs_queue(visit):
        catalog.queue  # noqa: B018 (looked up, or created, before the transaction, so no rollback takes it)
    return visit, events


def _ingest_alone(store: Store, data: dict, catalog: StoreCatalog, rng) -> IngestResult:
    """One checked body written in a savepoint of its own: a unique-constraint race with
    another request for the same visit is answered as a replay of the winner's row."""
    digest = body_sha256(data)
    if (existing := _replay(store, data["external_id"], digest, catalog)) is not None:
        return IngestResult(visit=existing, created=False)
    visit, events = _plan(store, data, digest, catalog, rng)
    try:
        with transaction.atomic():
            (routed,) = _write([(visit, events)], {store.id: catalog})
    except IntegrityError:
        if (existing := _replay(store, data["external_id"], digest)) is None:
            raise
        return IngestResult(visit=existing, created=False)
    return IngestResult(visit=visit, created=True, task=routed.task, receipt=routed.receipt)
