"""Reads of the catalog for the task screens: product cards (name, price, image URL) of a
store's products, and the type-ahead product search. No writes here.

Product images are catalog packshots, not visit media: associates and supervisors granted the
store may see them (`catalog.views.products.product_image`), so their URLs are plain links, not
lease-checked.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from catalog.models import Product

SEARCH_LIMIT = 8


@dataclass(frozen=True)
class ProductCard:
    sku: str
    name: str
    price_minor: int
    image_url: str

    @property
    def initials(self) -> str:
        """What the placeholder shows when the product has no image."""
        return "".join(word[0] for word in self.name.split()[:2]).upper() or "?"


def product_card(product: Product) -> ProductCard:
    has_image = bool(product.thumbnail.name or product.image.name)
    return ProductCard(
        sku=product.sku,
        name=product.name,
        price_minor=product.price_minor,
        image_url=reverse("catalog:product_image", args=[product.pk]) if has_image else "",
    )


def unknown_card(sku: str) -> ProductCard:
    """A sku the catalog no longer has (the payload was frozen at ingestion)."""
    return ProductCard(sku=sku, name=sku, price_minor=0, image_url="")


def product_cards(*, store_id: int, skus: Iterable[str]) -> dict[str, ProductCard]:
    """The store's products by sku, in one query."""
    wanted = {sku for sku in skus if isinstance(sku, str) and sku}
    if not wanted:
        return {}
    products = Product.objects.filter(store_id=store_id, sku__in=wanted).only(
        "pk", "sku", "name", "price_minor", "image", "thumbnail"
    )
    return {product.sku: product_card(product) for product in products}


def product_search(*, store_id: int, query: str, limit: int = SEARCH_LIMIT) -> list[ProductCard]:
    """Active products of one store whose sku or name contains `query`; exact sku first."""
    query = query.strip()[:100]
    if not query:
        return []
    products = (
        Product.objects.filter(store_id=store_id, active=True)
        .filter(Q(sku__icontains=query) | Q(name__icontains=query))
        .only("pk", "sku", "name", "price_minor", "image", "thumbnail")
        .order_by("name", "sku")[: limit * 4]
    )
    cards = [product_card(product) for product in products]
    lowered = query.lower()
    cards.sort(key=lambda c: (c.sku.lower() != lowered, not c.name.lower().startswith(lowered)))
    return cards[:limit]
