"""Small checks shared by the task kinds' result validators.

Each raises `infra.errors.LoupeError` (400) naming the field at fault as a path such as
`boxes[1].w`, the way the API reports it.
"""

from collections.abc import Iterable
from typing import Any

from catalog.models import Product
from infra.errors import LoupeError
from infra.text import storable


def invalid(field: str, detail: str, code: str = "invalid") -> LoupeError:
    return LoupeError(detail, code=code, field=field)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def as_object(value: Any, path: str, allowed: Iterable[str]) -> dict:
    """A JSON object with no keys beyond `allowed`."""
    if not isinstance(value, dict):
        raise invalid(path or "result", "Expected an object.")
    allowed = set(allowed)
    for key in value:
        if key not in allowed:
            raise invalid(_join(path, str(key)), "Unknown field.", code="unknown_field")
    return value


def as_list(obj: dict, key: str, path: str, *, max_items: int, required: bool = True) -> list:
    field = _join(path, key)
    if key not in obj or obj[key] is None:
        if required:
            raise invalid(field, "This field is required.", code="required")
        return []
    value = obj[key]
    if not isinstance(value, list):
        raise invalid(field, "Expected a list.")
    if len(value) > max_items:
        raise invalid(field, f"At most {max_items} items.")
    return value


def as_int(
    obj: dict, key: str, path: str, *, minimum: int | None = None, maximum: int | None = None, default=None
) -> int:
    field = _join(path, key)
    if key not in obj or obj[key] is None:
        if default is not None:
            return default
        raise invalid(field, "This field is required.", code="required")
    value = obj[key]
    # JSON true/false are not numbers, whatever Python thinks.
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "Expected an integer.")
    if minimum is not None and value < minimum:
        raise invalid(field, f"Must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise invalid(field, f"Must be at most {maximum}.")
    return value


def as_choice(obj: dict, key: str, path: str, choices: Iterable[str], *, default: str | None = None) -> str:
    field = _join(path, key)
    choices = tuple(choices)
    if key not in obj or obj[key] is None:
        if default is not None:
            return default
        raise invalid(field, "This field is required.", code="required")
    value = obj[key]
    if value not in choices:
        raise invalid(field, f"Expected one of: {', '.join(choices)}.")
    return value


def as_sku(obj: dict, key: str, path: str, *, store_id: int) -> str:
    """A sku of the store's catalog."""
    field = _join(path, key)
    value = obj.get(key)
    if value is None or value == "":
        raise invalid(field, "This field is required.", code="required")
    if not isinstance(value, str):
        raise invalid(field, f"Unknown sku {value!r} in this store.", code="unknown_sku")
    storable(value, field)
    if not Product.objects.filter(store_id=store_id, sku=value).exists():
        raise invalid(field, f"Unknown sku {value!r} in this store.", code="unknown_sku")
    return value
