"""What text the database can store, checked before it reaches a query."""


def unstorable(value: str) -> str | None:
    """Why the database cannot take `value` (a NUL, or a lone surrogate such as JSON's
    `"\\ud800"`, which neither PostgreSQL nor UTF-8 can encode), or None if it can. Such a
    value reaching a query is a 500; callers answer 400 with this detail instead."""
    if "\x00" in value:
        return "Null characters are not allowed."
    if not value.isascii():
        for char in value:
            if 0xD800 <= ord(char) <= 0xDFFF:
                return f"Surrogate characters are not allowed: U+{ord(char):X}."
    return None
