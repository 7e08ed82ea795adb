"""The product search associates type into: ranked, word order free, a little spelling-tolerant.
The same cases run on PostgreSQL (pg_trgm) and SQLite (scored in Python)."""

import pytest
from django.db import connection

from catalog.models import Product
from catalog.selectors import product_search
from tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

NAMES = {
    "MLK-WH": "Whole Milk 1L",
    "MLK-SK": "Skimmed Milk 1L",
    "YOG-NA": "Greek Yoghurt Natural 500g",
    "BRD-CR": "Rye Crispbread 250g",
    "BRD-WH": "Bread White Sliced",
    "CHO-DK": "Dark Chocolate 70%",
    "OLD-01": "Whole Grain Mustard",
}


@pytest.fixture
def store():
    store = StoreFactory(code="S9")
    for sku, name in NAMES.items():
        ProductFactory(store=store, sku=sku, name=name)
    return store


def skus(store, query, **kwargs):
    return [card.sku for card in product_search(store_id=store.pk, query=query, **kwargs)]


def test_words_match_in_any_order(store):
    assert skus(store, "milk whole")[0] == "MLK-WH"


def test_a_different_spelling_still_finds_the_product(store):
    assert skus(store, "yogurt") == ["YOG-NA"]


def test_a_whole_word_ranks_above_the_same_letters_inside_a_word(store):
    assert skus(store, "bread")[:2] == ["BRD-WH", "BRD-CR"]


def test_the_predicted_and_candidate_products_come_first(store):
    assert skus(store, "milk", prefer_skus=["MLK-SK"])[0] == "MLK-SK"
    assert skus(store, "milk whole", prefer_skus=["CHO-DK"])[0] == "MLK-WH"  # preferred only when it matches


def test_an_exact_sku_comes_first_and_skus_match_by_part(store):
    assert skus(store, "brd-cr")[0] == "BRD-CR"
    assert set(skus(store, "MLK")) == {"MLK-WH", "MLK-SK"}


def test_nothing_unrelated_and_nothing_inactive(store):
    assert skus(store, "zzzz") == []
    assert skus(store, "   ") == []
    Product.objects.filter(sku="CHO-DK").update(active=False)
    assert skus(store, "chocolate") == []


def test_other_stores_products_are_never_found(store):
    other = StoreFactory(code="S8")
    ProductFactory(store=other, sku="MLK-XX", name="Whole Milk 3.5%")
    assert "MLK-XX" not in skus(store, "whole milk")


@pytest.mark.postgres_only
def test_on_20000_products_the_search_uses_the_trigram_index(store):
    Product.objects.bulk_create(
        Product(
            store=store, sku=f"GEN-{n:05d}", name=f"Generic item {n} flavour {n % 97}", price_minor=100, currency="EUR"
        )
        for n in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product")
    from catalog.selectors import _ranked_postgres

    products = Product.objects.filter(store_id=store.pk, active=True)
    plan = _ranked_postgres(products, "yogurt").explain()
    assert "catalog_product_name_trgm" in plan, plan
    assert skus(store, "yogurt") == ["YOG-NA"]


def test_a_search_of_a_20000_product_catalog_still_ranks_the_right_product_first(store):
    """Among 20,000 look-alike names (the speed is bench work; the index use is checked above)."""
    Product.objects.bulk_create(
        Product(
            store=store,
            sku=f"GEN-{n:05d}",
            name=f"{WORDS[n % 8]} item {n} flavour {n % 97}",
            price_minor=1,
            currency="EUR",
        )
        for n in range(20_000)
    )
    for query in ["milk whole", "yogurt", "bread", "gen-1234", "flavour 42"]:
        assert skus(store, query), query
    assert skus(store, "yogurt") == ["YOG-NA"]
    assert skus(store, "milk whole")[0] == "MLK-WH"


WORDS = ["Milk", "Bread", "Cheese", "Apple", "Juice", "Water", "Soap", "Rice"]
