"""Opaque, signed page cursors: a position in a list (an integer key) that a client can only
hand back, never forge or edit. One `salt` per list, so a cursor of one list is refused by
another (400 `invalid_cursor`)."""

from django.core import signing

from infra.errors import LoupeError


def cursor_encode(key: int, *, salt: str) -> str:
    return signing.dumps([key], salt=salt)


def cursor_decode(cursor: str, *, salt: str, issuer: str) -> int:
    """The key in `cursor`; 400 `invalid_cursor` naming `cursor` unless this list (`salt`)
    issued it. `issuer` words the error: "This cursor was not issued by this {issuer}."""
    try:
        key = signing.loads(cursor, salt=salt)
    except signing.BadSignature:
        key = None
    if not (isinstance(key, list) and len(key) == 1 and type(key[0]) is int):
        raise LoupeError(f"This cursor was not issued by this {issuer}.", code="invalid_cursor", field="cursor")
    return key[0]
