"""`manage.py import_catalog STORE_CODE catalog.csv [--images DIR] [--dry-run]`

All or nothing: any bad row is reported (row, column, message) and nothing is imported.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Store
from catalog.services import CatalogImportError, catalog_import
from infra.errors import LoupeError


class Command(BaseCommand):
    help = "Create or update a store's products from a CSV file (sku,name,price_minor,currency[,image])."

    def add_arguments(self, parser):
        parser.add_argument("store", help="store code, e.g. S001")
        parser.add_argument("csv", type=Path, help="the catalog CSV (UTF-8, header row required)")
        parser.add_argument("--images", type=Path, help="folder the image paths are relative to (default: the CSV's)")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")

    def handle(self, *args, store: str, csv: Path, images: Path | None, dry_run: bool, **options):
        try:
            target = Store.objects.get(code=store)
        except Store.DoesNotExist:
            raise CommandError(f"Unknown store code: {store}.") from None
        try:
            report = catalog_import(store=target, rows=csv, images_dir=images, dry_run=dry_run)
        except CatalogImportError as exc:
            for error in exc.errors:
                self.stderr.write(f"{csv.name}: {error}")
            raise CommandError(exc.detail) from None
        except LoupeError as exc:
            raise CommandError(exc.detail) from None
        prefix = "Dry run, nothing written: would have " if report.dry_run else ""
        self.stdout.write(f"{prefix}created {report.created}, updated {report.updated} products in {target.code}.")
