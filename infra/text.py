"""What text the database can store, checked before it reaches a query."""

from infra.errors import LoupeError


def unstorable(value: str) -> tuple[str, str] | None:
    """Why the database cannot take `value`, as (code, detail) with DRF's CharField codes
    (`null_characters_not_allowed` for a NUL, `surrogate_characters_not_allowed` for a lone
    surrogate such as JSON's `"\\ud800"`, which neither PostgreSQL nor UTF-8 can encode); None
    if it can. Such a value reaching a query is a 500; callers answer 400 with this instead."""
    if "\x00" in value:
        return "null_characters_not_allowed", "Null characters are not allowed."
    if not value.isascii():
        for char in value:
            if 0xD800 <= ord(char) <= 0xDFFF:
                return "surrogate_characters_not_allowed", f"Surrogate characters are not allowed: U+{ord(char):X}."
    return None


def storable(value: str, field: str) -> str:
    """`value` if the database can take it; LoupeError (400) naming `field` otherwise."""
    if (problem := unstorable(value)) is not None:
        code, detail = problem
        raise LoupeError(detail, code=code, field=field)
    return value
