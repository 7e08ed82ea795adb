"""Reads of the catalog for the task screens: product cards (name, price, image URL) of a
store's products, and the type-ahead product search. No writes here.

Product images are catalog packshots, not visit media: associates and supervisors granted the
store may see them (`catalog.views.products.product_image`), so their URLs are plain links, not
lease-checked.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse

from catalog.models import Product

SEARCH_LIMIT = 8
# Candidates ranked per keystroke: enough for any sensible query, bounded for a broad one.
SEARCH_SCAN = 400
WORD_SIMILARITY = 0.45


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


def _tokens(text: str) -> list[str]:
    return [token for token in re.split(r"[^\w]+", text.casefold()) if token]


def _token_score(token: str, words: list[str]) -> float:
    """How well one typed word matches a name's words: whole word, start of a word, inside
    one, or, failing those, close in spelling ("yogurt" for "yoghurt"; words of about the
    same length and first letter only, which keeps the slow comparison rare)."""
    best = 0.0
    for word in words:
        if word == token:
            return 1.0
        if word.startswith(token):
            best = max(best, 0.9)
        elif token in word:
            best = max(best, 0.6)
    if best or len(token) < 4:
        return best
    for word in words:
        if word[0] == token[0] and abs(len(word) - len(token)) <= 2:
            ratio = SequenceMatcher(None, token, word).ratio()
            if ratio >= 0.75:
                best = max(best, ratio * 0.8)
    return best


def _name_score(tokens: list[str], name: str) -> float:
    """Every typed word must match some word of the name, in any order; the mean of how well."""
    words = _tokens(name)
    scores = [_token_score(token, words) for token in tokens]
    return sum(scores) / len(scores) if scores and min(scores) > 0 else 0.0


def _ranked_postgres(products, query: str):
    # `UPPER(name) %> query` is pg_trgm's word-similarity match: word order does not matter
    # and a letter or two may differ. It and the substring matches are served by the GIN
    # trigram indexes on UPPER(name) and UPPER(sku) (catalog migration 0004).
    return (
        products.annotate(upper_name=Upper("name"))
        .filter(Q(upper_name__trigram_word_similar=query) | Q(name__icontains=query) | Q(sku__icontains=query))
        .annotate(score=TrigramWordSimilarity(query, "name"))
        .order_by("-score", "name", "sku")
    )


def _ranked_simple(products, query: str, tokens: list[str]):
    """Without pg_trgm (SQLite): rows sharing a three-letter start with a typed word, scored here."""
    near = Q(sku__icontains=query)
    for token in tokens:
        near |= Q(name__icontains=token[:3])
    scored = []
    for product in products.filter(near)[: SEARCH_SCAN * 10]:
        score = _name_score(tokens, product.name)
        if query.casefold() in product.sku.casefold():
            score = max(score, 0.5)
        if score > 0:
            product.score = score
            scored.append(product)
    scored.sort(key=lambda p: (-p.score, p.name, p.sku))
    return scored


def product_search(
    *, store_id: int, query: str, prefer_skus: Iterable[str] = (), limit: int = SEARCH_LIMIT
) -> list[ProductCard]:
    """Active products of one store matching `query`, best first: the exact sku, then the
    products the model predicted or considered (`prefer_skus`), then by relevance. Words may
    come in any order and be spelled a little differently from the catalog."""
    query = query.strip()[:100]
    tokens = _tokens(query)
    if not query:
        return []
    products = Product.objects.filter(store_id=store_id, active=True).only(
        "pk", "sku", "name", "price_minor", "image", "thumbnail"
    )
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # pg_trgm's default (0.6) misses "yogurt" in "Yoghurt" (0.5); ranking sorts the rest.
            cursor.execute("SET LOCAL pg_trgm.word_similarity_threshold = %s", [WORD_SIMILARITY])
            found = list(_ranked_postgres(products, query)[:SEARCH_SCAN])
    else:
        found = _ranked_simple(products, query, tokens or [query.casefold()])
    preferred = {sku for sku in prefer_skus if isinstance(sku, str)}
    lowered = query.casefold()
    # Stable: relevance order stays within each group.
    found.sort(key=lambda p: (p.sku.casefold() != lowered, p.sku not in preferred))
    return [product_card(product) for product in found[:limit]]
