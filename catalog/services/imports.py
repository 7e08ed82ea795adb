"""The catalog import: CSV rows checked first, then written all together or not at all."""

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import IO

from django.db import transaction

from catalog.models import Product, Store
from catalog.services.images import InvalidImage, image_check, product_set_image
from infra.errors import LoupeError

IMPORT_COLUMNS = ("sku", "name", "price_minor", "currency")
IMPORT_OPTIONAL_COLUMNS = ("image",)
PRICE_MINOR_MAX = 2_147_483_647  # PositiveIntegerField's ceiling on every database
_DIGITS = re.compile(r"^[0-9]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class RowError:
    """One problem of an import: `row` is the line of the CSV file (the header is line 1),
    or the 1-based position when rows were given as dicts; `column` is None for the row as
    a whole."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class CatalogImportError(LoupeError):
    code = "invalid_catalog"

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problem(s) in the catalog; nothing was imported.")
        self.errors = errors


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    skus: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    number: int
    sku: str
    name: str
    price_minor: int
    currency: str
    image: Path | None


def catalog_import(
    *,
    store: Store,
    rows: Iterable[Mapping[str, str]] | IO[str] | PathLike | str,
    images_dir: PathLike | str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Create or update a store's products from CSV `sku,name,price_minor,currency[,image]`.

    `rows` is a path to a CSV file, an open text file, or dicts with those keys. Every row is
    checked before anything is written; if any row is bad, CatalogImportError lists every
    problem and nothing is imported. Rules:

    - the header is required and may hold only the columns above (a misspelt optional
      column would otherwise be dropped silently);
    - `price_minor` is a whole, non-negative number of minor units;
    - `currency` must be the store's own currency: a receipt has one currency, so a product
      priced in another cannot be sold there;
    - a sku appears once per file;
    - `image` is a path relative to `images_dir` (default: the CSV file's folder); absolute
      paths and paths leading out of that folder are refused; the file must be an image
      that `image_check` accepts.

    Existing skus are updated (name, price, currency, and the image when one is given); new
    skus are created. One transaction; locks the store's products named in the file. With
    `dry_run` nothing is written and the report says what would have happened.
    """
    numbered, base_dir, errors = _read_rows(rows, images_dir)
    parsed: list[_Row] = []
    first_row_of_sku: dict[str, int] = {}
    for number, raw in numbered:
        row, row_errors = _check_row(number, raw, store=store, base_dir=base_dir)
        errors.extend(row_errors)
        if row is None:
            continue
        if row.sku in first_row_of_sku:
            errors.append(
                RowError(number, "sku", f"sku {row.sku!r} already appears on row {first_row_of_sku[row.sku]}.")
            )
            continue
        first_row_of_sku[row.sku] = number
        parsed.append(row)
    if not errors and not numbered:
        errors.append(RowError(1, None, "The file has a header but no product rows."))
    if errors:
        raise CatalogImportError(errors)

    if dry_run:
        existing = set(Product.objects.filter(store=store, sku__in=first_row_of_sku).values_list("sku", flat=True))
        return ImportReport(
            created=len(parsed) - len(existing), updated=len(existing), dry_run=True, skus=list(first_row_of_sku)
        )
    return _write(store=store, rows=parsed)


def _read_rows(
    rows: Iterable[Mapping[str, str]] | IO[str] | PathLike | str, images_dir: PathLike | str | None
) -> tuple[list[tuple[int, Mapping[str, str | None]]], Path | None, list[RowError]]:
    """Turn any accepted input into numbered dicts with normalised keys, checking the header."""
    base_dir = Path(images_dir) if images_dir is not None else None
    if isinstance(rows, (str, PathLike)):
        path = Path(rows)
        if base_dir is None:
            base_dir = path.parent
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                return _from_csv(handle, base_dir)
        except OSError as exc:
            return [], base_dir, [RowError(0, None, f"Cannot read {path} ({exc.strerror or exc}).")]
        except UnicodeDecodeError:
            return [], base_dir, [RowError(1, None, "The file is not UTF-8 text.")]
    if hasattr(rows, "read"):
        if base_dir is None and isinstance(getattr(rows, "name", None), str):
            base_dir = Path(rows.name).parent
        try:
            return _from_csv(rows, base_dir)
        except UnicodeDecodeError:
            return [], base_dir, [RowError(1, None, "The file is not UTF-8 text.")]
    numbered = [(index, {_column(k): v for k, v in row.items()}) for index, row in enumerate(rows, start=1)]
    header = list(numbered[0][1]) if numbered else list(IMPORT_COLUMNS)
    return numbered, base_dir, _check_header(header, row=1)


def _from_csv(handle: IO[str], base_dir: Path | None):
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        return [], base_dir, [RowError(1, None, "The file is empty; a header row is required.")]
    except csv.Error as exc:
        return [], base_dir, [RowError(1, None, f"The header is not valid CSV ({exc}).")]
    header = [_column(name) for name in header]
    errors = _check_header(header, row=1)
    if errors:
        return [], base_dir, errors
    numbered: list[tuple[int, Mapping[str, str | None]]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines carry no product
            if len(cells) > len(header):
                errors.append(
                    RowError(reader.line_num, None, f"The row has {len(cells)} cells, the header {len(header)}.")
                )
                continue
            numbered.append((reader.line_num, dict(zip(header, cells, strict=False))))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, None, f"Not valid CSV ({exc})."))
    return numbered, base_dir, errors


def _column(name: object) -> str:
    return str(name).strip().lower()


def _check_header(header: list[str], *, row: int) -> list[RowError]:
    errors = [
        RowError(row, column, "Missing column in the header.") for column in IMPORT_COLUMNS if column not in header
    ]
    known = set(IMPORT_COLUMNS) | set(IMPORT_OPTIONAL_COLUMNS)
    errors += [
        RowError(row, column or "(empty)", f"Unknown column; the columns are {', '.join(IMPORT_COLUMNS)}[,image].")
        for column in header
        if column not in known
    ]
    errors += [
        RowError(row, column, "The column appears twice.") for column in sorted(set(header)) if header.count(column) > 1
    ]
    return errors


def _check_row(
    number: int, raw: Mapping[str, str | None], *, store: Store, base_dir: Path | None
) -> tuple[_Row | None, list[RowError]]:
    def value(column: str) -> str:
        return (raw.get(column) or "").strip()

    errors: list[RowError] = []
    sku, name, price, currency, image = (value(c) for c in (*IMPORT_COLUMNS, "image"))
    if not sku:
        errors.append(RowError(number, "sku", "A sku is required."))
    elif len(sku) > Product._meta.get_field("sku").max_length:
        errors.append(RowError(number, "sku", "The sku is longer than 64 characters."))
    if not name:
        errors.append(RowError(number, "name", "A name is required."))
    elif len(name) > Product._meta.get_field("name").max_length:
        errors.append(RowError(number, "name", "The name is longer than 200 characters."))

    price_minor = 0
    if not price:
        errors.append(RowError(number, "price_minor", "A price is required."))
    elif price.startswith("-"):
        errors.append(RowError(number, "price_minor", f"{price!r} is negative; prices are 0 or more."))
    elif not _DIGITS.match(price):
        errors.append(
            RowError(number, "price_minor", f"{price!r} is not a whole number of minor units (199 for 1.99).")
        )
    elif (price_minor := int(price)) > PRICE_MINOR_MAX:
        errors.append(RowError(number, "price_minor", f"{price} is larger than {PRICE_MINOR_MAX}."))

    currency = currency.upper()
    if not currency:
        errors.append(RowError(number, "currency", "A currency is required."))
    elif not _CURRENCY.match(currency):
        errors.append(RowError(number, "currency", f"{currency!r} is not an ISO-4217 code such as EUR."))
    elif currency != store.currency:
        errors.append(RowError(number, "currency", f"{currency} is not the store's currency ({store.currency})."))

    image_path, image_error = _image_path(image, base_dir) if image else (None, None)
    if image_error:
        errors.append(RowError(number, "image", image_error))
    if errors:
        return None, errors
    return _Row(number, sku, name, price_minor, currency, image_path), []


def _image_path(value: str, base_dir: Path | None) -> tuple[Path | None, str | None]:
    """Resolve an image cell inside `base_dir`, and check the file is an image we accept."""
    if base_dir is None:
        return None, "Images need a folder to be read from (images_dir / --images)."
    relative = Path(value)
    if relative.is_absolute() or relative.drive:
        return None, f"{value!r} is an absolute path; give a path relative to the images folder."
    root = base_dir.resolve()
    path = (root / relative).resolve()  # follows symlinks, so a link pointing out is refused too
    if not path.is_relative_to(root):
        return None, f"{value!r} leads out of the images folder."
    if not path.is_file():
        return None, f"No image file {value!r} in the images folder."
    try:
        with path.open("rb") as handle:
            image_check(image_file=handle)
    except InvalidImage as exc:
        return None, f"{value!r}: {exc.detail}"
    except OSError as exc:
        return None, f"{value!r} cannot be read ({exc.strerror or exc})."
    return path, None


def _write(*, store: Store, rows: list[_Row]) -> ImportReport:
    stored: list[str] = []
    try:
        with transaction.atomic():
            existing = {p.sku: p for p in Product.objects.select_for_update().filter(store=store)}
            created, updated = [], []
            for row in rows:
                product = existing.get(row.sku)
                if product is None:
                    created.append(
                        Product(
                            store=store, sku=row.sku, name=row.name, price_minor=row.price_minor, currency=row.currency
                        )
                    )
                    continue
                product.name, product.price_minor, product.currency = row.name, row.price_minor, row.currency
                updated.append(product)
            Product.objects.bulk_create(created, batch_size=500)
            Product.objects.bulk_update(updated, ["name", "price_minor", "currency"], batch_size=500)

            with_image = [row for row in rows if row.image]
            products = {p.sku: p for p in Product.objects.filter(store=store, sku__in=[r.sku for r in with_image])}
            for row in with_image:
                product = products[row.sku]
                try:
                    with row.image.open("rb") as handle:
                        product_set_image(product=product, image_file=handle)
                except (InvalidImage, OSError) as exc:
                    raise CatalogImportError(
                        [RowError(row.number, "image", str(getattr(exc, "detail", exc)))]
                    ) from None
                stored += [product.image.name, product.thumbnail.name]
    except BaseException:
        for name in stored:
            Product.image.field.storage.delete(name)
        raise
    return ImportReport(created=len(created), updated=len(updated), skus=[row.sku for row in rows])
