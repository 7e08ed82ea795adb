"""Statements of the hot paths, built by the ORM once per process and re-run with new values.

Building a queryset and compiling it to SQL costs more CPU than the database spends running
it: on the work API's claim and submit, the ORM's `filter()`/`as_sql()` were about half of a
request's Python time, and PostgreSQL then spent more time planning each statement than
running it. A `Prepared` statement is built by Django once per database vendor with sentinel
values standing in for its arguments; each call swaps the real values in. The SQL stays
Django's own (same filters, same expressions, same quoting), only compiled once.

On PostgreSQL `run()` also prepares it on the server (`PREPARE`, once per connection, then
`EXECUTE`), so it is parsed and planned once per connection too. The constants stay literals
in the prepared text (exactly as psycopg2 would have sent them), so a generic plan still
matches partial indexes (`state = 'open'`); only the arguments become `$n`. Turn this off
with `DATABASE_PREPARED_STATEMENTS=0` behind a pooler that shares server sessions between
clients (PgBouncer in transaction mode): a prepared statement belongs to one session.

The first build of each shape is checked: a second build with other sentinels must give the
same SQL text with the sentinels at the same places, and every argument must appear as a
parameter (not folded into the text). A statement whose SQL depends on an argument's value
(`None` becomes `IS NULL`, a list changes `IN (…)`) must make that a separate `shape`.
"""

import datetime as dt
import itertools
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import sql
from django.utils.duration import duration_microseconds

# Inside a 32-bit integer's range: Django turns an out-of-range lookup into "matches nothing".
_counter = itertools.count(1_931_000_001)
_names = itertools.count(1)
_PLACEHOLDER = re.compile(r"%%|%s")
# Server-side prepared statements per (driver) connection: {connection: {name, ...}}.
_prepared_on: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


def _sentinel(kind: type) -> Any:
    """A value no real argument or constant will equal."""
    if kind is int:
        return next(_counter)
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind is str:
        return f"\x1fprepared-{next(_counter)}"
    if kind is dt.timedelta:
        return dt.timedelta(microseconds=next(_counter))
    raise TypeError(f"No sentinel for {kind!r}.")


def _adapter(sentinel: Any, param: Any) -> Callable[[Any], Any] | None:
    """How an argument becomes this parameter, if `param` is the compiled form of `sentinel`."""
    if type(param) is type(sentinel) and param == sentinel:
        if isinstance(sentinel, uuid.UUID):
            return lambda value: value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return lambda value: value
    if isinstance(sentinel, uuid.UUID) and param == sentinel.hex:
        return lambda value: (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex
    if isinstance(sentinel, uuid.UUID) and param == str(sentinel):
        return lambda value: str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    if isinstance(sentinel, dt.timedelta) and param == duration_microseconds(sentinel):
        return duration_microseconds  # SQLite keeps durations as microseconds
    return None


class _Compiled:
    """A statement compiled for one vendor and shape."""

    def __init__(self, sql: str, params: tuple, slots: dict[int, tuple[str, Callable]]) -> None:
        self.sql, self.params, self.slots = sql, params, slots  # slots: {param index: (argument, adapter)}
        self.name = f"loupe_{next(_names)}"  # of the server-side prepared statement
        self.server: tuple[str, str, tuple[tuple[str, Callable], ...]] | None = None

    def params_for(self, values: dict) -> list:
        params = list(self.params)
        for index, (name, adapt) in self.slots.items():
            params[index] = adapt(values[name])
        return params

    def server_form(self, cursor) -> tuple[str, str, tuple[tuple[str, Callable], ...]]:
        """(PREPARE text, EXECUTE text, the arguments in $ order with their adapters): each
        argument is one `$n` wherever it appears; constants are the literals psycopg2 would
        have sent (`cursor.mogrify`)."""
        if self.server is None:
            order: dict[str, Callable] = {}
            positions = itertools.count()

            def placeholder(match: re.Match) -> str:
                if match.group() == "%%":
                    return "%"
                index = next(positions)
                if index not in self.slots:
                    return cursor.mogrify("%s", [self.params[index]]).decode()
                name, adapt = self.slots[index]
                order.setdefault(name, adapt)
                return f"${list(order).index(name) + 1}"

            text = _PLACEHOLDER.sub(placeholder, self.sql)
            execute = f"EXECUTE {self.name}" + (f" ({', '.join(['%s'] * len(order))})" if order else "")
            self.server = (f"PREPARE {self.name} AS {text}", execute, tuple(order.items()))
        return self.server


def _once(cache: dict, key: Any, lock: threading.Lock, compile_: Callable[[], _Compiled]) -> _Compiled:
    """`cache[key]`, compiled on first use by one thread (the others wait for it)."""
    compiled = cache.get(key)
    if compiled is None:
        with lock:
            compiled = cache.get(key)
            if compiled is None:
                compiled = cache[key] = compile_()
    return compiled


class Prepared:
    """One statement: `build(**arguments, **shape) -> (sql, params)` compiled once per
    database vendor and shape.

    `arguments` name the types of the values that change from call to call:
    `Prepared(build, associate_id=int, queue_id=uuid.UUID)`. Anything else `build` reads must
    be the same on every call, or be passed in `shape`. Every argument must become a
    parameter, except those named in `unused_in`, a shape where they legitimately play no part
    (`unused_in={"superuser": True}`: a superuser's store filter names no user).
    """

    def __init__(
        self, build: Callable[..., tuple[str, Sequence]], *, unused_in: dict | None = None, **arguments: type
    ) -> None:
        self.build = build
        self.arguments = arguments
        self.unused_in = unused_in or {}
        self._compiled: dict[tuple, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, shape: dict) -> _Compiled:
        builds = []
        for _ in range(2):
            sentinels = {name: _sentinel(kind) for name, kind in self.arguments.items()}
            sql, params = self.build(**sentinels, **shape)
            builds.append((sentinels, sql, tuple(params)))
        (first, sql, params), (second, sql_again, params_again) = builds
        if sql != sql_again or len(params) != len(params_again):
            raise ValueError(f"{self.build.__qualname__}: the SQL depends on an argument's value; use a shape.")
        slots: dict[int, tuple[str, Callable]] = {}
        for index, (param, param_again) in enumerate(zip(params, params_again, strict=True)):
            for name in self.arguments:
                adapt = _adapter(first[name], param)
                if adapt is not None:
                    if adapt(second[name]) != param_again:
                        raise ValueError(f"{self.build.__qualname__}: parameter {index} moved between builds.")
                    slots[index] = (name, adapt)
                    break
            else:
                if param != param_again:
                    raise ValueError(f"{self.build.__qualname__}: parameter {index} is not constant.")
        missing = set(self.arguments) - {name for name, _ in slots.values()}
        if missing and not (self.unused_in and self.unused_in.items() <= shape.items()):
            raise ValueError(f"{self.build.__qualname__}: {sorted(missing)} did not become parameters.")
        return _Compiled(sql=sql, params=params, slots=slots)

    def _get(self, vendor: str, shape: dict | None) -> _Compiled:
        shape = shape or {}
        return _once(self._compiled, (vendor, *sorted(shape.items())), self._lock, lambda: self._compile(shape))

    def __call__(self, *, using: str = "default", shape: dict | None = None, **values: Any) -> tuple[str, list]:
        """(sql, params) of the statement with these values, for `cursor.execute()`. `shape`
        holds the keyword arguments of `build` that change the SQL itself (a flag, a None),
        each combination compiled once."""
        compiled = self._get(connections[using].vendor, shape)
        return compiled.sql, compiled.params_for(values)

    def run(self, *, using: str = "default", shape: dict | None = None, **values: Any) -> list[tuple]:
        """Run the statement with these values and fetch its rows (none for a write without
        RETURNING). PostgreSQL: as a server-side prepared statement, unless turned off."""
        connection = connections[using]
        compiled = self._get(connection.vendor, shape)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
                execute, arguments = _prepare_on_server(connection, compiled)
                cursor.execute(execute, [adapt(values[name]) for name, adapt in arguments])
            else:
                cursor.execute(compiled.sql, compiled.params_for(values))
            return cursor.fetchall() if cursor.description is not None else []


def _prepare_on_server(connection, compiled: _Compiled) -> tuple[str, tuple[tuple[str, Callable], ...]]:
    """PREPARE the statement on this connection's server session unless done already (once
    per session: a prepared statement outlives the transaction it was made in, even a rolled
    back one). Through the driver's own cursor: it is set-up, not one of the request's
    queries. Answers the EXECUTE text and its arguments."""
    connection.ensure_connection()
    driver = connection.connection
    names = _prepared_on.get(driver)
    if names is None:
        names = _prepared_on[driver] = set()
    if compiled.name not in names:
        with driver.cursor() as cursor:
            prepare, _, _ = compiled.server_form(cursor)
            cursor.execute(prepare)
        names.add(compiled.name)
    _, execute, arguments = compiled.server
    return execute, arguments


class PreparedInsert:
    """`obj.save()` of a new row for a hot path: Django's own INSERT of `model` (every
    concrete field but an auto-increment key, whose value comes back), compiled once per
    vendor and, on PostgreSQL, prepared on the server like `Prepared`.

    Values go through the fields exactly as in `bulk_create` (`pre_save`, then
    `get_db_prep_save`: defaults, `auto_now_add`, JSON, UUIDs); no signals are sent, as with
    `bulk_create`. Two additions, both SQL fixed at compile time:

    - `values`: {field name: expression} written by the database instead of the object's
      value (the transaction id, say), and read back into the object;
    - `when`: a condition evaluated once *before* the row is made (`INSERT … SELECT … WHERE`
      instead of `VALUES`; on PostgreSQL a one-time filter, run before the column defaults
      such as a sequence's `nextval`). The row is inserted only if it holds.
    """

    def __init__(self, model: type, *, values: dict | None = None, when: Any = None) -> None:
        self.model = model
        self.values = values or {}
        self.when = when
        self.fields = [f for f in model._meta.concrete_fields if not f.generated and not f.db_returning]
        self.given = [f for f in self.fields if f.name not in self.values]
        # What the database wrote comes back and is set on the object.
        self.returning = [f for f in model._meta.concrete_fields if f.db_returning or f.name in self.values]
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> _Compiled:
        query = sql.InsertQuery(self.model)
        query.insert_values(self.fields, [self.model(**self.values)])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = self.returning
        [(statement, params)] = compiler.as_sql()
        if len(params) != len(self.given) or len(_PLACEHOLDER.findall(statement.replace("%%", ""))) != len(params):
            raise ValueError(f"{self.model.__name__}: an INSERT placeholder is not one value, or `values` take some.")
        if self.when is not None:
            statement = self._guarded(statement, compiler)
        return _Compiled(sql=statement, params=tuple(params), slots={n: (n, _identity) for n in range(len(params))})

    def _guarded(self, statement: str, compiler) -> str:
        """`INSERT INTO t (…) VALUES (…) [RETURNING …]` as `INSERT INTO t (…) SELECT … WHERE
        when [RETURNING …]`."""
        head, marker, rest = statement.partition(" VALUES (")
        row, _, returning = rest.rpartition(" RETURNING ") if self.returning else (rest, "", "")
        condition, condition_params = compiler.compile(self.when)
        if not marker or not row.endswith(")") or condition_params:
            raise ValueError(f"{self.model.__name__}: cannot guard this INSERT: {statement}")
        guarded = f"{head} SELECT {row[:-1]} WHERE {condition}"
        return f"{guarded} RETURNING {returning}" if returning else guarded

    def _get(self, using: str) -> _Compiled:
        return _once(self._compiled, connections[using].vendor, self._lock, lambda: self._compile(using))

    def run(self, obj: Any, *, using: str = "default") -> bool:
        """Insert `obj` (a model instance, not saved yet) and set its returned key. False if
        `when` did not hold (nothing inserted)."""
        connection = connections[using]
        compiled = self._get(using)
        values = dict(enumerate(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in self.given))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
                execute, arguments = _prepare_on_server(connection, compiled)
                cursor.execute(execute, [values[n] for n, _ in arguments])
            else:
                cursor.execute(compiled.sql, compiled.params_for(values))
            row = cursor.fetchone() if self.returning else (() if cursor.rowcount == 1 else None)
        if row is None:  # `when` did not hold
            return False
        for field, value in zip(self.returning, row, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding, obj._state.db = False, using
        return True


def _identity(value: Any) -> Any:
    return value


_converters: dict[tuple, list] = {}


def model_from_row(model: type, values: Sequence, *, using: str = "default") -> Any:
    """An instance of `model` from its concrete columns, in `_meta.concrete_fields` order, as
    the database returned them (Django's converters applied, as a queryset would)."""
    connection = connections[using]
    key = (model, connection.vendor)
    converters = _converters.get(key)
    if converters is None:
        converters = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            converters.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))
        _converters[key] = converters
    converted = []
    for (col, field_converters), value in zip(converters, values, strict=True):
        for convert in field_converters:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(using, [field.attname for field in model._meta.concrete_fields], converted)
