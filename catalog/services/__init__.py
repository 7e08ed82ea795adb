"""Every write of the catalog that spans rows or files. One module per concern:

- `images`: product images (checked with Pillow, generated names, thumbnails)
- `imports`: the all-or-nothing CSV catalog import
- `accounts`: store grants, integrations and API tokens

Errors are `infra.errors.LoupeError`s with a stable code, so a command, the admin and an
API view can all report them the same way. The names below are the public surface.
"""

from catalog.services.accounts import (
    IntegrationCredentials,
    api_token_issue,
    integration_create,
    store_access_set,
    stores_from_codes,
    username_check,
)
from catalog.services.images import CheckedImage, InvalidImage, image_check, product_set_image
from catalog.services.imports import CatalogImportError, ImportReport, RowError, catalog_import

__all__ = [
    "CatalogImportError",
    "CheckedImage",
    "ImportReport",
    "IntegrationCredentials",
    "InvalidImage",
    "RowError",
    "api_token_issue",
    "catalog_import",
    "image_check",
    "integration_create",
    "product_set_image",
    "store_access_set",
    "stores_from_codes",
    "username_check",
]
