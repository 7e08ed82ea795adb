"""Demo data for `make run`, screenshots and manual testing.

Two stores (`S001`, `S002`) with cameras and a grocery catalog with generated packshots,
real H.264 snippets, a few hundred visits over the last hours with a realistic confidence
mix (most auto-accepted, some pending review, a few breaching their SLA), demo people and
a demo integration. Everything goes through the same services the API uses, so the demo
exercises real ingestion and routing.

Idempotent: every object is found by its code, sku, username or external id first and only
created when missing, so running it twice changes nothing. The generated content depends
only on the seed and the object's number, not on how many objects were asked for.

The passwords below are for the demo only. Never run `seed_demo` against a real deployment.
"""

import datetime as dt
import functools
import io
import random
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont
from rest_framework.authtoken.models import Token

from annotator.models import Snippet
from annotator.services.people import person_onboard
from annotator.services.snippets import snippet_ingest
from annotator.synth import make_clip
from catalog import roles
from catalog.models import Camera, Product, Store
from catalog.services import integration_create, product_set_image
from validation.models import Receipt, Visit
from validation.services import StoreCatalog, visit_ingest
from validation.services.receipts import receipt_turnaround

Log = Callable[[str], None]

STORES = (
    # code, name, cameras, products
    ("S001", "Loupe Demo Market — Central", 6, 120),
    ("S002", "Loupe Demo Market — North", 4, 80),
)
STORE_TIMEZONE = "Europe/Amsterdam"
MODEL_VERSIONS = ("jwo-2026.11.1", "jwo-2026.11.2")  # the newer one went live 4 hours ago


ADMIN = "admin"  # a superuser, not a group


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str  # associate, supervisor or admin
    store_codes: tuple[str, ...]  # none for the admin, who sees every store
    password: str  # demo only

    @property
    def stores_label(self) -> str:
        return ",".join(self.store_codes) or "all"


DEMO_LOGINS = (
    DemoLogin("ana", roles.ASSOCIATE, ("S001",), "loupe-ana-demo"),
    DemoLogin("ben", roles.ASSOCIATE, ("S001",), "loupe-ben-demo"),
    DemoLogin("chloe", roles.ASSOCIATE, ("S001", "S002"), "loupe-chloe-demo"),
    DemoLogin("sofia", roles.SUPERVISOR, ("S001", "S002"), "loupe-sofia-demo"),
    DemoLogin("admin", ADMIN, (), "loupe-admin-demo"),
)
DEMO_INTEGRATION = "demo-cv"
DEMO_INTEGRATION_STORES = ("S001", "S002")


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


# --- catalog ----------------------------------------------------------------------------

# category: (package colour, price range in cents, items)
_CATEGORIES = {
    "dairy": (
        (88, 148, 206),
        (89, 449),
        "Whole Milk 1L|Semi-Skimmed Milk 1L|Greek Yoghurt 500g|Gouda Slices 150g|Butter 250g|Skyr Vanilla 450g|"
        "Cottage Cheese 200g|Cooking Cream 200ml|Oat Drink 1L|Mozzarella 125g|Kefir 500ml|Brie 200g",
    ),
    "bakery": (
        (196, 150, 84),
        (99, 399),
        "Sourdough Loaf|Croissants 4-pack|Wholegrain Bread 800g|Rye Crispbread|Cinnamon Roll|Baguette|"
        "Bagels 4-pack|Blueberry Muffin|Pain au Chocolat|Stroopwafels 8-pack",
    ),
    "produce": (
        (92, 160, 70),
        (79, 399),
        "Bananas 1kg|Gala Apples 6-pack|Cherry Tomatoes 250g|Ripe Avocados 2-pack|Baby Spinach 200g|Cucumber|"
        "Blueberries 125g|Lemons 4-pack|Red Peppers 3-pack|Carrots 1kg|Strawberries 400g|Mango",
    ),
    "drinks": (
        (214, 64, 52),
        (69, 349),
        "Sparkling Water 1.5L|Still Water 500ml|Cola 330ml|Cola Zero 330ml|Orange Juice 1L|Apple Juice 1L|"
        "Peach Iced Tea 500ml|Energy Drink 250ml|Cold Brew Coffee 250ml|Ginger Beer 330ml|Kombucha 330ml|"
        "Lemonade 330ml",
    ),
    "snacks": (
        (130, 82, 170),
        (99, 329),
        "Sea Salt Crisps 150g|Paprika Crisps 150g|Salted Peanuts 200g|Dark Chocolate 72% 100g|Milk Chocolate 100g|"
        "Granola Bar|Trail Mix 200g|Rice Cakes|Tortilla Chips 200g|Gummy Bears 200g|Pretzels 150g|Protein Bar",
    ),
    "pantry": (
        (150, 100, 60),
        (119, 1299),
        "Spaghetti 500g|Penne 500g|Basmati Rice 1kg|Tomato Passata 500g|Olive Oil 500ml|Chickpeas 400g|"
        "Peanut Butter 350g|Strawberry Jam 370g|Rolled Oats 500g|Honey 350g|Coffee Beans 500g|Green Tea 20 bags",
    ),
    "ready meals": (
        (40, 150, 140),
        (249, 899),
        "Chicken Caesar Salad|Sushi Box 8 pcs|Falafel Wrap|Tomato Soup 500ml|Pesto Pasta Bowl|Club Sandwich|"
        "Salmon Poke Bowl|Hummus 200g|Overnight Oats|Fruit Salad Cup",
    ),
    "household": (
        (120, 128, 140),
        (129, 899),
        "Dish Soap 500ml|Paper Towels 2-pack|Hand Soap 250ml|Toothpaste 75ml|Tissues Box|AA Batteries 4-pack|"
        "Laundry Pods 20|Bin Bags 20",
    ),
    "frozen": (
        (110, 190, 220),
        (199, 599),
        "Vanilla Ice Cream 500ml|Garden Peas 450g|Margherita Pizza|Fish Fingers 10|Mango Sorbet|Frozen Berries 300g",
    ),
}
_BRANDS = ("Polder", "Nordvale", "Lindhof", "Vela", "Brookfield", "Kestrel", "Marisol", "Ostara", "Hagen", "Duinkerk")


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    color: tuple[int, int, int]
    base_price_minor: int


def _catalog(size: int) -> list[DemoProduct]:
    """The demo catalog: SKU-0001… in a fixed order, the same in every run and every store."""
    items = [(cat, item) for cat, (_, _, names) in _CATEGORIES.items() for item in names.split("|")]
    products = []
    for n in range(size):
        category, item = items[n % len(items)]
        color, (low, high), _ = _CATEGORIES[category]
        rng = random.Random(f"product-{n}")
        brand = _BRANDS[(n * 7 + n // len(items)) % len(_BRANDS)]
        name = f"{brand} {'Organic ' if n >= len(items) else ''}{item}"
        # Prices end in 9 like shelf prices do; organic costs a bit more.
        price = rng.randint(low // 10, high // 10) * 10 + 9
        if n >= len(items):
            price += 40
        tint = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in color)
        products.append(DemoProduct(f"SKU-{n + 1:04d}", name, category, tint, price))
    return products


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def product_image(product: DemoProduct) -> bytes:
    """A 256x256 PNG packshot: the package in its category colour with a label band."""
    size = 256
    image = Image.new("RGB", (size, size), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    # A soft floor shadow and the package.
    draw.ellipse([52, 216, 204, 240], fill=(210, 210, 205))
    draw.rounded_rectangle([56, 24, 200, 228], radius=18, fill=product.color, outline=(60, 60, 60), width=2)
    draw.rounded_rectangle([64, 32, 88, 220], radius=8, fill=tuple(min(255, c + 35) for c in product.color))
    draw.rectangle([56, 92, 200, 172], fill=(250, 250, 246))
    brand, _, rest = product.name.partition(" ")
    words = [w for w in rest.split() if w[0].isalpha() and w != "Organic"]
    initials = "".join(w[0] for w in words[:2]).upper()
    draw.text((128, 114), initials, font=_font(40), fill=product.color, anchor="mm")
    small = _font(11)
    lines = textwrap.wrap(rest, width=22)[:2]
    for i, line in enumerate(lines):
        draw.text((128, 150 + 13 * i - 6 * (len(lines) - 1)), line, font=small, fill=(40, 40, 40), anchor="mm")
    draw.text((136, 46), brand.upper(), font=small, fill=(255, 255, 255), anchor="mm")
    draw.text((136, 210), product.sku, font=small, fill=(255, 255, 255), anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def seed_catalog(*, log: Log, summary: DemoSummary) -> dict[str, Store]:
    stores = {}
    for code, name, n_cameras, n_products in STORES:
        store, created = Store.objects.get_or_create(
            code=code, defaults={"name": name, "timezone": STORE_TIMEZONE, "currency": "EUR"}
        )
        summary.add("stores", created)
        stores[code] = store
        for n in range(1, n_cameras + 1):
            where = f"Aisle {(n + 1) // 2}, {'left' if n % 2 else 'right'}"
            _, created = Camera.objects.get_or_create(store=store, code=f"C{n:02d}", defaults={"name": where})
            summary.add("cameras", created)
        existing = {p.sku: p for p in Product.objects.filter(store=store)}
        # One transaction per store: a commit per product would dominate on SQLite.
        with transaction.atomic():
            for i, demo in enumerate(_catalog(n_products), start=1):
                product = existing.get(demo.sku)
                if product is None:
                    # The northern store is a little dearer.
                    price = demo.base_price_minor if code == "S001" else demo.base_price_minor + 10
                    product = Product.objects.create(
                        store=store, sku=demo.sku, name=demo.name, price_minor=price, currency=store.currency
                    )
                    summary.add("products")
                if not product.image:
                    image = ContentFile(product_image(demo), name=f"{demo.sku}.png")
                    product_set_image(product=product, image_file=image)
                if i % 40 == 0 or i == n_products:
                    log(f"    {code}: {i}/{n_products} products")
    return stores


# --- people -----------------------------------------------------------------------------


def seed_people(*, log: Log, summary: DemoSummary) -> None:
    User = get_user_model()
    for login in DEMO_LOGINS:
        if User.objects.filter(username=login.username).exists():
            continue
        if login.role == ADMIN:
            User.objects.create_superuser(username=login.username, email="", password=login.password)
        else:
            person_onboard(
                username=login.username, role=login.role, store_codes=login.store_codes, password=login.password
            )
        summary.add("people")
        log(f"    {login.username} ({login.role}, {login.stores_label})")
    if not User.objects.filter(username=DEMO_INTEGRATION).exists():
        # DRF keeps the key in its token table, so `demo_logins` can print it again later.
        integration_create(name=DEMO_INTEGRATION, store_codes=DEMO_INTEGRATION_STORES)
        summary.add("people")
        log(f"    {DEMO_INTEGRATION} (integration, {', '.join(DEMO_INTEGRATION_STORES)})")


def demo_integration_token() -> str | None:
    token = Token.objects.filter(user__username=DEMO_INTEGRATION).first()
    return token.key if token else None


# --- snippets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedSnippet:
    external_id: str
    store_code: str
    camera_code: str
    scene: str
    sku: str
    annotate: bool
    seed: int
    minutes_ago: float


def _store_for(n: int) -> tuple[str, int, int]:
    """Store of the n-th snippet or visit: two thirds in S001, one third in S002."""
    code, _, n_cameras, n_products = STORES[1 if n % 3 == 2 else 0]
    return code, n_cameras, n_products


def snippet_plan(*, count: int, seed: int) -> list[PlannedSnippet]:
    plan = []
    for n in range(count):
        rng = random.Random(f"{seed}-snippet-{n}")
        code, n_cameras, n_products = _store_for(n)
        plan.append(
            PlannedSnippet(
                external_id=f"clip-{n + 1:04d}",
                store_code=code,
                camera_code=f"C{rng.randint(1, n_cameras):02d}",
                scene=rng.choices(("take", "put_back", "none"), weights=(5, 3, 2))[0],
                sku=f"SKU-{rng.randint(1, n_products):04d}",
                annotate=n % 9 in (0, 4, 8),  # a third, in both stores
                seed=seed * 1000 + n,
                minutes_ago=rng.uniform(5, 6 * 60),
            )
        )
    return plan


def _predictions(boxes: list[dict], *, sku: str, width: int, height: int, rng: random.Random) -> list[dict]:
    """What a model would have predicted: the ground truth, thinned out, jittered, scored."""
    predictions = []
    for box in boxes:
        if box["frame"] % 3 or rng.random() < 0.15:
            continue
        x = max(0, min(width - 2, box["x"] + rng.randint(-4, 4)))
        y = max(0, min(height - 2, box["y"] + rng.randint(-4, 4)))
        w = max(2, min(width - x, box["w"] + rng.randint(-5, 5)))
        h = max(2, min(height - y, box["h"] + rng.randint(-5, 5)))
        prediction = {"frame": box["frame"], "label": box["label"], "box": [x, y, w, h]}
        if box["label"] == "product":
            prediction["sku"] = sku
            prediction["score"] = round(rng.uniform(0.45, 0.9), 2)
        else:
            prediction["score"] = round(rng.uniform(0.7, 0.97), 2)
        predictions.append(prediction)
    return predictions


def seed_snippets(
    *, stores: dict[str, Store], count: int, seed: int, now: dt.datetime, log: Log, summary: DemoSummary
) -> None:
    plan = snippet_plan(count=count, seed=seed)
    existing = set(Snippet.objects.values_list("store__code", "external_id"))
    colors = {p.sku: p.color for p in _catalog(max(n for *_, n in STORES))}
    for i, planned in enumerate(plan, start=1):
        if (planned.store_code, planned.external_id) not in existing:
            store = stores[planned.store_code]
            clip = make_clip(scene=planned.scene, seed=planned.seed, product_color=colors[planned.sku])
            rng = random.Random(planned.seed)
            snippet_ingest(
                store=store,
                camera=Camera.objects.get(store=store, code=planned.camera_code),
                external_id=planned.external_id,
                started_at=now - dt.timedelta(minutes=planned.minutes_ago),
                upload=ContentFile(clip.data, name=f"{planned.external_id}.mp4"),
                annotate=planned.annotate,
                predictions=(
                    _predictions(clip.boxes, sku=planned.sku, width=clip.width, height=clip.height, rng=rng)
                    if planned.annotate
                    else None
                ),
            )
            summary.add("snippets")
        if i % 10 == 0 or i == count:
            log(f"    {i}/{count} snippets")


# --- visits -----------------------------------------------------------------------------


@functools.cache
def _popularity(n_products: int) -> list[float]:
    """A few best sellers and a long tail, like any shop."""
    return [1 / k**0.7 for k in range(1, n_products + 1)]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def visit_payload(*, n: int, seed: int, now: dt.datetime, snippets: list[PlannedSnippet]) -> dict:
    """The POST /api/v1/visits/ body of the n-th demo visit.

    About one visit in five has an event the model is unsure about (pending review); most
    of those left the store minutes ago, a few long enough ago to have breached the SLA.
    The rest are sure (every event ≥ 0.9) and spread over the last six hours.
    """
    rng = random.Random(f"{seed}-visit-{n}")
    code, n_cameras, n_products = _store_for(n)
    unsure = rng.random() < 0.2
    if not unsure:
        minutes_ago = rng.uniform(2, 6 * 60)
    elif rng.random() < 0.15:
        minutes_ago = rng.uniform(25, 150)  # breached: due_at = exited_at + sla_minutes is long past
    else:
        minutes_ago = rng.uniform(0.5, 13)
    exited_at = now - dt.timedelta(minutes=minutes_ago)
    entered_at = exited_at - dt.timedelta(minutes=rng.uniform(2, 25))
    n_events = rng.choices(range(1, 13), weights=(8, 12, 14, 13, 11, 9, 7, 5, 4, 3, 2, 2))[0]
    moments = sorted(rng.uniform(0, 1) for _ in range(n_events))
    with_snippet = [s for s in snippets if s.store_code == code and s.scene == "take"]
    low = set(rng.sample(range(n_events), k=max(1, round(n_events * rng.uniform(0.1, 0.4))))) if unsure else set()
    taken: dict[str, int] = {}
    events = []
    for i, t in enumerate(moments):
        snippet = None
        if taken and rng.random() < 0.12:
            action, sku, quantity = "put_back", rng.choice(sorted(taken)), 1
        else:
            action, quantity = "take", rng.choices((1, 2, 3), weights=(88, 10, 2))[0]
            if with_snippet and rng.random() < (0.7 if i in low else 0.08):
                snippet = rng.choice(with_snippet)
                sku = snippet.sku
            else:
                sku = f"SKU-{rng.choices(range(1, n_products + 1), weights=_popularity(n_products))[0]:04d}"
        taken[sku] = taken.get(sku, 0) + (quantity if action == "take" else -quantity)
        if taken[sku] <= 0:
            del taken[sku]
        confidence = rng.uniform(0.35, 0.86) if i in low else rng.uniform(0.905, 0.995)
        # Confusable neighbours on the shelf are the model's next guesses.
        sku_n = int(sku[4:])
        n_candidates = rng.choices((0, 1, 2, 3), weights=(1, 3, 3, 2) if i in low else (8, 3, 1, 0))[0]
        neighbours = [m for m in range(sku_n - 4, sku_n + 5) if m != sku_n and 1 <= m <= n_products]
        candidates, left = [], 1 - confidence
        for m in rng.sample(neighbours, k=min(n_candidates, len(neighbours))):
            score = round(rng.uniform(0.2, 0.9) * left, 3)
            left -= score
            candidates.append({"sku": f"SKU-{m:04d}", "score": score})
        event = {
            "external_id": f"e{i + 1}",
            "action": action,
            "sku": sku,
            "quantity": quantity,
            "confidence": round(confidence, 3),
            "occurred_at": _iso(entered_at + (exited_at - entered_at) * t),
            "camera": snippet.camera_code if snippet else f"C{rng.randint(1, n_cameras):02d}",
            "candidates": candidates,
        }
        if snippet:
            event["snippet"] = snippet.external_id
        events.append(event)
    return {
        "external_id": f"v-demo-{n + 1:06d}",
        "store": code,
        "shopper": f"anon-{rng.getrandbits(24):06x}",
        "entered_at": _iso(entered_at),
        "exited_at": _iso(exited_at),
        "model_version": MODEL_VERSIONS[1] if minutes_ago < 4 * 60 else MODEL_VERSIONS[0],
        "events": events,
    }


def _as_if_received_live(visit: Visit, receipt: Receipt | None, *, rng: random.Random) -> None:
    """Demo visits spread over the last hours are ingested now; date their arrival (and an
    auto-accepted visit's receipt) a few seconds after the shopper left, as the live system
    would have, so the dashboard's turnaround figures read like a real store's."""
    received_at = visit.exited_at + dt.timedelta(seconds=rng.uniform(1.0, 4.0))
    Visit.objects.filter(pk=visit.pk).update(received_at=received_at)
    if receipt is not None:
        issued_at = received_at + dt.timedelta(seconds=rng.uniform(0.05, 0.5))
        Receipt.objects.filter(pk=receipt.pk).update(
            issued_at=issued_at, **receipt_turnaround(visit=visit, issued_at=issued_at)
        )


def seed_visits(
    *,
    stores: dict[str, Store],
    count: int,
    n_snippets: int,
    seed: int,
    now: dt.datetime,
    log: Log,
    summary: DemoSummary,
) -> None:
    existing = set(Visit.objects.values_list("store__code", "external_id"))
    present = set(Snippet.objects.values_list("store__code", "external_id"))
    snippets = [s for s in snippet_plan(count=n_snippets, seed=seed) if (s.store_code, s.external_id) in present]
    # One catalog per store, loaded once, shared by all its visits (as the bulk endpoint does).
    catalogs = {code: StoreCatalog(store) for code, store in stores.items()}
    for code, _, n_cameras, n_products in STORES:
        catalogs[code].load(
            skus=[f"SKU-{m:04d}" for m in range(1, n_products + 1)],
            cameras=[f"C{m:02d}" for m in range(1, n_cameras + 1)],
            snippets=[s.external_id for s in snippets if s.store_code == code],
        )
    chunk = 50
    for start in range(0, count, chunk):
        # One outer transaction per chunk: on SQLite, one commit per visit would dominate.
        with transaction.atomic():
            for n in range(start, min(count, start + chunk)):
                payload = visit_payload(n=n, seed=seed, now=now, snippets=snippets)
                if (payload["store"], payload["external_id"]) in existing:
                    continue
                code = payload["store"]
                result = visit_ingest(store=stores[code], payload=payload, catalog=catalogs[code])
                _as_if_received_live(result.visit, result.receipt, rng=random.Random(seed * 100_003 + n))
                summary.add(f"visits {result.visit.status}")
        log(f"    {min(count, start + chunk)}/{count} visits")


# --- all of it --------------------------------------------------------------------------


def seed_demo(
    *, visits: int = 500, snippets: int = 60, seed: int = 7, now: dt.datetime | None = None, log: Log = print
) -> DemoSummary:
    """Create whatever part of the demo data is missing. Safe to run again."""
    started = time.monotonic()
    now = now or timezone.now()
    summary = DemoSummary()
    log("==> stores, cameras and products (with packshots)")
    stores = seed_catalog(log=log, summary=summary)
    log("==> demo people and the demo integration")
    seed_people(log=log, summary=summary)
    log(f"==> {snippets} snippets (synthetic H.264 shelf clips)")
    seed_snippets(stores=stores, count=snippets, seed=seed, now=now, log=log, summary=summary)
    log(f"==> {visits} visits over the last six hours")
    seed_visits(stores=stores, count=visits, n_snippets=snippets, seed=seed, now=now, log=log, summary=summary)
    summary.seconds = time.monotonic() - started
    return summary
