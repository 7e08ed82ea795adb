import io

import pytest

from catalog.models import Product
from catalog.services import CatalogImportError, catalog_import
from tests.images import image_bytes, stored_files

HEADER = "sku,name,price_minor,currency,image\n"


def catalog_snapshot(store) -> list[tuple]:
    return list(Product.objects.filter(store=store).order_by("sku").values_list("sku", "name", "price_minor", "image"))


def write_catalog(folder, text: str):
    path = folder / "catalog.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "import"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "water.png").write_bytes(image_bytes())
    return folder


def test_import_creates_new_skus_and_updates_existing_ones(s001, folder, media):
    path = write_catalog(
        folder,
        HEADER + "SKU-0001,Renamed product,250,EUR,\nSKU-0100,Sparkling water,129,EUR,img/water.png\n",
    )

    report = catalog_import(store=s001, rows=path)

    assert (report.created, report.updated) == (1, 1)
    renamed = Product.objects.get(store=s001, sku="SKU-0001")
    assert (renamed.name, renamed.price_minor) == ("Renamed product", 250)
    water = Product.objects.get(store=s001, sku="SKU-0100")
    assert (water.name, water.price_minor, water.currency) == ("Sparkling water", 129, "EUR")
    assert water.image.name.startswith("products/")
    assert water.thumbnail.name.startswith("products/thumbs/")
    assert stored_files(media) == sorted([water.image.name, water.thumbnail.name])


def test_import_touches_only_its_own_store(s001, s002, folder, media):
    catalog_import(store=s001, rows=write_catalog(folder, "sku,name,price_minor,currency\nSKU-0001,New,1,EUR\n"))

    assert Product.objects.get(store=s002, sku="SKU-0001").name == "S002 product 1"


def test_the_image_column_is_optional_and_headers_are_case_and_space_insensitive(s001, folder, media):
    path = write_catalog(folder, " SKU , Name,PRICE_MINOR,currency\r\nSKU-0200,Crisps,99,eur\r\n\r\n")

    report = catalog_import(store=s001, rows=path)

    assert (report.created, report.updated) == (1, 0)
    assert Product.objects.get(store=s001, sku="SKU-0200").currency == "EUR"


def test_a_utf8_file_with_a_byte_order_mark_is_read(s001, folder, media):
    path = folder / "bom.csv"
    path.write_bytes("sku,name,price_minor,currency\nSKU-0300,Café crème,350,EUR\n".encode("utf-8-sig"))

    catalog_import(store=s001, rows=path)

    assert Product.objects.get(store=s001, sku="SKU-0300").name == "Café crème"


def test_images_dir_overrides_the_csv_folder(s001, folder, tmp_path, media):
    csv_elsewhere = tmp_path / "elsewhere.csv"
    csv_elsewhere.write_text(HEADER + "SKU-0100,Water,129,EUR,water.png\n")

    catalog_import(store=s001, rows=csv_elsewhere, images_dir=folder / "img")

    assert Product.objects.get(store=s001, sku="SKU-0100").image


def test_dicts_and_open_files_are_accepted_too(s001, media):
    report = catalog_import(
        store=s001, rows=[{"sku": "SKU-0400", "name": "Tea", "price_minor": "300", "currency": "EUR"}]
    )
    assert report.created == 1

    report = catalog_import(store=s001, rows=io.StringIO("sku,name,price_minor,currency\nSKU-0400,Tea,310,EUR\n"))
    assert report.updated == 1
    assert Product.objects.get(store=s001, sku="SKU-0400").price_minor == 310


def test_a_dry_run_reports_the_counts_and_writes_nothing(s001, folder, media):
    before = catalog_snapshot(s001)
    path = write_catalog(folder, HEADER + "SKU-0001,Renamed,1,EUR,\nSKU-0100,Water,129,EUR,img/water.png\n")

    report = catalog_import(store=s001, rows=path, dry_run=True)

    assert (report.created, report.updated, report.dry_run) == (1, 1, True)
    assert catalog_snapshot(s001) == before
    assert stored_files(media) == []


BAD_CATALOGS = {
    "bad price": ("SKU-0001,Water,1.99,EUR,\n", 2, "price_minor", "not a whole number"),
    "negative price": ("SKU-0001,Water,-5,EUR,\n", 2, "price_minor", "negative"),
    "non-integer price": ("SKU-0001,Water,abc,EUR,\n", 2, "price_minor", "not a whole number"),
    "empty price": ("SKU-0001,Water,,EUR,\n", 2, "price_minor", "required"),
    "huge price": ("SKU-0001,Water,99999999999,EUR,\n", 2, "price_minor", "larger than"),
    "bad currency code": ("SKU-0001,Water,100,EURO,\n", 2, "currency", "not an ISO-4217 code"),
    "another currency": ("SKU-0001,Water,100,USD,\n", 2, "currency", "not the store's currency (EUR)"),
    "missing sku": (",Water,100,EUR,\n", 2, "sku", "required"),
    "missing name": ("SKU-0001,,100,EUR,\n", 2, "name", "required"),
    "duplicate sku": ("SKU-0100,Water,100,EUR,\nSKU-0100,Again,100,EUR,\n", 3, "sku", "already appears on row 3"),
    "missing image": ("SKU-0100,Water,100,EUR,img/nope.png\n", 2, "image", "No image file"),
    "image path with ../": ("SKU-0100,Water,100,EUR,../secret.png\n", 2, "image", "leads out of the images folder"),
    "image path with ../ inside": ("SKU-0100,Water,100,EUR,img/../../secret.png\n", 2, "image", "leads out"),
    "absolute image path": ("SKU-0100,Water,100,EUR,/etc/passwd\n", 2, "image", "absolute path"),
    "a non-image file as image": ("SKU-0100,Water,100,EUR,notes.txt\n", 2, "image", "not a readable image"),
    "too many cells": ("SKU-0100,Water,100,EUR,,extra\n", 2, None, "6 cells"),
}


@pytest.mark.parametrize("body,row,column,message", BAD_CATALOGS.values(), ids=BAD_CATALOGS.keys())
def test_a_bad_row_is_reported_and_nothing_is_imported(s001, folder, media, body, row, column, message):
    (folder / "notes.txt").write_text("not an image")
    (folder.parent / "secret.png").write_bytes(image_bytes())
    before = catalog_snapshot(s001)
    # A good row first: all-or-nothing means it is not imported either.
    path = write_catalog(folder, HEADER + "SKU-0002,Good row,500,EUR,img/water.png\n" + body)

    with pytest.raises(CatalogImportError) as caught:
        catalog_import(store=s001, rows=path)

    errors = caught.value.errors
    assert len(errors) == 1, errors
    assert (errors[0].row, errors[0].column) == (row + 1, column)
    assert message in errors[0].message
    assert catalog_snapshot(s001) == before
    assert stored_files(media) == []


BAD_FILES = {
    "empty file": ("", 1, None, "empty"),
    "header only": ("sku,name,price_minor,currency\n", 1, None, "no product rows"),
    "missing column": ("sku,name,currency\nSKU-0100,Water,EUR\n", 1, "price_minor", "Missing column"),
    "no header": ("SKU-0100,Water,100,EUR\n", 1, "sku", "Missing column"),
    "unknown column": ("sku,name,price_minor,currency,imgae\nSKU-0100,Water,1,EUR,x.png\n", 1, "imgae", "Unknown"),
    "column twice": ("sku,name,price_minor,currency,sku\nSKU-0100,Water,1,EUR,x\n", 1, "sku", "twice"),
}


@pytest.mark.parametrize("text,row,column,message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_refused_with_a_clear_error(s001, folder, media, text, row, column, message):
    before = catalog_snapshot(s001)

    with pytest.raises(CatalogImportError) as caught:
        catalog_import(store=s001, rows=write_catalog(folder, text))

    first = caught.value.errors[0]
    assert (first.row, first.column) == (row, column)
    assert message in first.message
    assert catalog_snapshot(s001) == before


def test_every_bad_row_is_reported_at_once(s001, folder, media):
    path = write_catalog(folder, HEADER + "SKU-0100,Water,1.5,USD,\nSKU-0101,,100,EUR,\nSKU-0102,Fine,100,EUR,\n")

    with pytest.raises(CatalogImportError) as caught:
        catalog_import(store=s001, rows=path)

    assert [(e.row, e.column) for e in caught.value.errors] == [
        (2, "price_minor"),
        (2, "currency"),
        (3, "name"),
    ]
    assert str(caught.value.errors[0]).startswith("row 2, column price_minor: ")
    assert not Product.objects.filter(sku__in=["SKU-0100", "SKU-0101", "SKU-0102"]).exists()


def test_a_symlink_pointing_out_of_the_images_folder_is_refused(s001, folder, tmp_path, media):
    outside = tmp_path / "outside.png"
    outside.write_bytes(image_bytes())
    (folder / "img" / "link.png").symlink_to(outside)

    with pytest.raises(CatalogImportError) as caught:
        catalog_import(store=s001, rows=write_catalog(folder, HEADER + "SKU-0100,Water,1,EUR,img/link.png\n"))

    assert "leads out" in caught.value.errors[0].message


def test_a_file_that_is_not_utf8_is_refused(s001, folder, media):
    path = folder / "latin1.csv"
    path.write_bytes("sku,name,price_minor,currency\nSKU-0100,Caf\xe9,1,EUR\n".encode("latin-1"))

    with pytest.raises(CatalogImportError) as caught:
        catalog_import(store=s001, rows=path)

    assert "not UTF-8" in caught.value.errors[0].message
