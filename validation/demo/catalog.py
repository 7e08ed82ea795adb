"""The demo stores, their cameras and a grocery catalog with generated packshots."""

import functools
import io
import random
import textwrap
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from catalog.models import Camera, Product, Store
from catalog.services import product_set_image
from validation.demo.summary import DemoSummary, Log

STORES = (
    # code, name, cameras, products
    ("S001", "Loupe Demo Market — Central", 6, 120),
    ("S002", "Loupe Demo Market — North", 4, 80),
)
STORE_TIMEZONE = "Europe/Amsterdam"


def store_for(n: int) -> tuple[str, int, int]:
    """Store of the n-th snippet or visit: two thirds in S001, one third in S002."""
    code, _, n_cameras, n_products = STORES[1 if n % 3 == 2 else 0]
    return code, n_cameras, n_products


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


def demo_products(size: int) -> list[DemoProduct]:
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
            for i, demo in enumerate(demo_products(n_products), start=1):
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
