"""Driver-level multi-row inserts: exactly the values SQLAlchemy would send, without its per-row bookkeeping
(SQLite ``executemany`` or, during an import, a writer thread; PostgreSQL ``COPY``). Used by bulk imports and
by the unit of work's outbox flush."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, Callable

from sqlalchemy import JSON, func, insert, select, text

from .background import writer_for


def insert_with_ids(
    session,
    table,
    rows: list[dict[str, Any]],
    *,
    index_order: str | None = None,
    ids: list[int] | None = None,
) -> list[int]:
    """Insert ``rows`` into ``table`` and return their new ids, in order.

    The ids are assigned before the insert, so the rows go in with one driver ``executemany`` (SQLAlchemy
    would otherwise insert row by row on SQLite to return ids in order): SQLite — after the current maximum,
    safe because the unit of work holds the write lock from BEGIN (IMMEDIATE); PostgreSQL — drawn from the
    table's own sequence. ``index_order``: see :func:`insert_rows` (the ids still follow the given order).
    ``ids``: reserved earlier with :func:`reserve_ids`.
    """
    if not rows:
        return []
    if ids is None:
        ids = reserve_ids(session, table, len(rows))
        if ids is None:  # pragma: no cover - other databases are not supported by the kernel
            return list(
                session.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
                ).scalars()
            )
    for new_id, row in zip(ids, rows):
        row["id"] = new_id
    insert_rows(session, table, rows, index_order=index_order)
    return ids


def reserve_ids(session, table, count: int) -> list[int] | None:
    """``count`` new ids for ``table`` (see :func:`insert_with_ids`); ``None`` on a database without a way.
    Ids reserved for several tables before any of their rows is inserted keep the inserts free to run in the
    background (:mod:`.background`): asking the table's maximum would have to wait for them."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        return list(range(start, start + count))
    if dialect == "postgresql":
        return sorted(
            session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": count},
            ).scalars()
        )
    return None  # pragma: no cover


class IdCounter:
    """:func:`reserve_ids` for a long command that alone inserts into its tables (an import): on SQLite the
    table's maximum is asked once, then the ids are counted on here, so reserving them does not wait for the
    inserts still queued on the writer thread (:mod:`.background`); on PostgreSQL each call draws from the
    table's sequence, which nothing else can take. The caller guarantees that nothing else inserts rows into
    these tables while it counts (every row it inserts takes its id from here)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def __call__(self, session, table, count: int) -> list[int]:
        if session.get_bind().dialect.name != "sqlite":
            return reserve_ids(session, table, count) or []
        start = self._next.get(table.name)
        if start is None:
            start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        self._next[table.name] = start + count
        return list(range(start, start + count))


def _copy(conn, table, names, convert, rows) -> None:
    """PostgreSQL's COPY through psycopg (in the session's transaction): an order of magnitude faster than
    any INSERT form for thousands of rows. The rows are formatted as COPY text here (one string per row,
    written in large chunks), which is several times faster than psycopg's per-value ``write_row``; a value
    of a type this formatter does not know sends the rows through ``write_row`` instead."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    statement = (
        f"COPY {conn.dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN"
    )
    try:
        lines = ["\t".join([_copy_text(v) for v in convert(row)]) for row in rows]
    except _NotCopyText:
        lines = None
    dbapi_connection = conn.connection.dbapi_connection
    writer = writer_for(dbapi_connection)
    if writer is not None:
        if lines is not None:
            writer.submit_copy(statement, "\n".join(lines) + "\n", len(lines), table.name)
            return
        writer.drain()  # this COPY goes round SQLAlchemy's statement events: the queue first
    with dbapi_connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            if lines is None:
                write_row = copy.write_row
                for row in rows:
                    write_row(convert(row))
                return
            for start in range(0, len(lines), 1000):
                copy.write("\n".join(lines[start : start + 1000]) + "\n")


class _NotCopyText(TypeError):
    pass


def _escaped(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format (``\\N`` for NULL, backslash escapes)."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return _escaped(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime or kind is date:
        return value.isoformat()
    if kind is Decimal:
        return str(value)
    wrapped = getattr(
        value, "obj", _MISSING
    )  # psycopg's Json / Jsonb wrapper, as SQLAlchemy's JSON binds it
    if wrapped is not _MISSING and type(value).__module__.startswith("psycopg"):
        from .jsoncodec import dumps

        return _escaped(dumps(wrapped))
    raise _NotCopyText(kind.__name__)


_MISSING = object()


def _processor(column, dialect):
    """The column's bind processor; for dates and times remembered per value (an import stamps every row
    with the same ``recorded_at``, histories repeat the same days and a century of birthdays is 36,525 of
    them); for JSON, the empty object and array are not encoded again and again."""
    proc = column.type.dialect_impl(dialect).bind_processor(dialect)
    python_type = _python_type(column)
    if proc is None:
        return None
    if python_type is dict or python_type is list:  # JSON
        empty_object, empty_array = proc({}), proc([])

        def json_value(value, proc=proc):
            if not value and value is not None:
                if type(value) is dict:
                    return empty_object
                if type(value) is list:
                    return empty_array
            return proc(value)

        return json_value
    if python_type not in (datetime, date):
        return proc
    cache: dict[Any, Any] = {}

    def cached(value):
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = proc(value)
            if len(cache) > 40_000:  # a few MB at most
                cache.clear()
            return out

    return cached


#: generated once per shape: inserts (table, dialect name, column names, rows are tuples) → (SQL, column names,
#: converter, :class:`JsonInsert` or None); updates (table, dialect name, ("update", key, *columns)) → (SQL,
#: converter)
_SHAPES: dict[tuple, tuple] = {}
#: column types whose driver values travel exactly as JSON (integers, text, NULL): see :mod:`.background`
_JSON_SAFE = (int, str, bool, dict, list, date, datetime)


def _row_converter(
    names: list[str], procs: list, positions: dict[str, int] | None = None
) -> Callable[[Any], tuple]:
    """``row → tuple of driver values`` as one generated function: a plain tuple display of ``row[name]`` or
    ``proc(row[name])``, with no per-value generator or ``zip`` (this is the hot loop of every import).
    With ``positions`` the rows are tuples and ``row[position]`` is read instead."""
    env: dict[str, Any] = {}
    items = []
    for i, (name, proc) in enumerate(zip(names, procs)):
        key = repr(name) if positions is None else str(positions[name])
        if proc is None:
            items.append(f"row[{key}]")
        else:
            env[f"p{i}"] = proc
            items.append(f"p{i}(row[{key}])")
    source = f"def convert(row):\n    return ({', '.join(items)},)\n"
    exec(compile(source, "<crmcore.storage.bulk row converter>", "exec"), env)
    return env["convert"]


def _shape(conn, table, keys: tuple[str, ...], *, tuples: bool = False):
    dialect = conn.dialect
    cache_key = (table, dialect.name, keys, tuples)
    shape = _SHAPES.get(cache_key)
    if shape is None:
        compiled = insert(table).compile(
            dialect=dialect, column_keys=list(keys), for_executemany=True
        )
        names = list(compiled.positiontup if compiled.positional else compiled.binds)
        if (
            any(name not in keys for name in names)
            or not compiled.positional
            and dialect.name != "postgresql"
        ):
            shape = (
                compiled.string,
                names,
                None,
                None,
            )  # a column default would have to be computed: SQLAlchemy
        else:
            procs = [_processor(table.c[n], dialect) for n in names]
            if tuples and names == list(keys) and not any(procs):
                convert = _as_is  # the given tuples are the driver values
            else:
                convert = _row_converter(
                    names, procs, {k: i for i, k in enumerate(keys)} if tuples else None
                )
            json_insert = _json_insert(conn, table, names) if dialect.name == "sqlite" else None
            shape = (compiled.string, names, convert, json_insert)
        if len(_SHAPES) > 500:
            _SHAPES.clear()
        _SHAPES[cache_key] = shape
    return shape


def _as_is(row: tuple) -> tuple:
    return row


def insert_rows(
    session, table, rows: list[dict[str, Any]], *, index_order: str | None = None
) -> None:
    """A multi-row insert of rows that all have the same keys.

    The values go through each column type's own bind processor (exactly what SQLAlchemy would send)
    straight to the driver: SQLite's ``executemany`` (skipping SQLAlchemy's per-row bookkeeping, which costs
    more than SQLite's insert itself) or PostgreSQL's ``COPY`` (SQLAlchemy's multi-VALUES pages make psycopg
    re-parse a 100 kB statement per page). Within :func:`crmcore.storage.background.background_inserts`
    (imports), the inserts are handed to a writer thread instead.

    ``index_order`` names a column whose index would otherwise be written all over (name tokens, phone
    numbers): the rows are sent sorted by it, so the index B-tree is written page after page instead of
    at random (``benchmarks/index_order.py``: 4–7 % less time for name tokens, the sort included). Only rows
    whose order is not observable may be sorted: a table with an autoincrement id gets its ids from
    :func:`insert_with_ids` first.
    """
    if not rows:
        return
    if index_order is not None:
        rows = sorted(rows, key=itemgetter(index_order))
    conn = session.connection()
    shape = _shape(conn, table, tuple(rows[0]))
    if shape[2] is None:
        session.execute(insert(table), rows)
    else:
        _send(conn, table, shape, rows)


def insert_values(
    session, table, columns: tuple[str, ...], rows: list[tuple], *, index_order: str | None = None
) -> None:
    """:func:`insert_rows` for rows given as tuples of the ``columns``' values: no dict per row, and no
    conversion at all when the columns need none (name tokens, tags, phone numbers: most of an import's rows)."""
    if not rows:
        return
    if index_order is not None:
        rows = sorted(rows, key=itemgetter(columns.index(index_order)))
    conn = session.connection()
    shape = _shape(conn, table, columns, tuples=True)
    if shape[2] is None:
        session.execute(insert(table), [dict(zip(columns, row)) for row in rows])
    else:
        _send(conn, table, shape, rows)


def _send(conn, table, shape, rows: list) -> None:
    sql, names, convert, json_insert = shape
    if conn.dialect.name == "postgresql":
        _copy(conn, table, names, convert, rows)
        return
    values = rows if convert is _as_is else list(map(convert, rows))
    writer = writer_for(conn.connection.dbapi_connection) if json_insert else None
    if writer is None or not json_insert.submit(writer, values):
        conn.exec_driver_sql(sql, values)


def _python_type(column) -> type:
    """The Python type of the column's values (``dict`` for JSON, whose SQLAlchemy type does not say)."""
    column_type = getattr(column.type, "impl", column.type)
    if isinstance(column_type, JSON):
        return dict
    try:
        return column_type.python_type
    except NotImplementedError:
        return object


def _json_insert(conn, table, names: list[str]) -> "JsonInsert | None":
    """The JSON form of the table's insert for :mod:`.background`; ``None`` when a column's values would not
    travel exactly (floats, decimals, bytes)."""
    if not all(issubclass(_python_type(table.c[n]), _JSON_SAFE) for n in names):
        return None
    quote = conn.dialect.identifier_preparer.quote
    auto = table.autoincrement_column
    return JsonInsert(
        f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(n) for n in names)})",
        table.name,
        integers=frozenset(i for i, n in enumerate(names) if _python_type(table.c[n]) is int),
        ordered=auto is not None and auto.name not in names,
    )


#: SQLite's integers
_INT64 = (-(2**63), 2**63 - 1)


class JsonInsert:
    """``INSERT INTO table (names) SELECT value->>0, …, ?2, … FROM json_each(?1)``: one batch of rows as one
    JSON array of arrays (see :mod:`.background`).

    Columns holding one value across the whole batch (an import's timestamps, actor, event name, empty
    attributes, NULLs) are bound once as parameters instead of travelling in every row: SQLite 3.40 parses
    the row's JSON again for each ``->>``, so fewer and shorter rows halve the cost of a wide table
    (``benchmarks/json_insert.py``). Rows go in the array's order (``ORDER BY key``) when the table numbers
    them itself. An integer beyond 64 bits would arrive as a float: when a batch holds one, its rows are
    filtered by a ``WHERE`` that leaves such rows out, and the writer, finding fewer rows inserted than sent,
    fails the insert (``executemany`` would have raised ``OverflowError``, as binding it once does).
    """

    def __init__(self, head: str, table: str, *, integers: frozenset[int], ordered: bool):
        self._head = head
        self._table = table
        self._integers = integers
        self._order = " ORDER BY key" if ordered else ""
        self._statements: dict[tuple[tuple[int, ...], bool], str] = {}

    def submit(self, writer, values: list[tuple]) -> bool:
        """Hand the rows to ``writer``; ``False`` when they cannot travel as JSON (the caller writes them)."""
        count, first, last = len(values), values[0], values[-1]
        constant = tuple(
            i
            for i, value in enumerate(first)
            if value == last[i] and list(map(itemgetter(i), values)).count(value) == count
        )
        varying = [i for i in range(len(first)) if i not in constant]
        if not constant:
            rows: list = values
        elif len(varying) > 1:
            rows = list(map(itemgetter(*varying), values))
        else:  # itemgetter of one index gives the bare value: one-element rows, or empty ones
            rows = list(zip(map(itemgetter(varying[0]), values))) if varying else [()] * count
        payload = writer.encode(rows)
        if payload is None:
            return False
        guarded = not all(_fits_64_bits(values, i) for i in varying if i in self._integers)
        writer.submit_json(
            self._statement(constant, guarded, len(first)),
            payload,
            tuple(first[i] for i in constant),
            count,
            self._table,
        )
        return True

    def _statement(self, constant: tuple[int, ...], guarded: bool, width: int) -> str:
        key = (constant, guarded)
        statement = self._statements.get(key)
        if statement is None:
            selected, checks, position = [], [], 0
            for i in range(width):
                if i in constant:
                    selected.append(f"?{constant.index(i) + 2}")
                    continue
                selected.append(f"value->>{position}")
                if guarded and i in self._integers:
                    checks.append(f"typeof(value->>{position}) <> 'real'")
                position += 1
            where = f" WHERE {' AND '.join(checks)}" if checks else ""
            statement = self._statements[key] = (
                f"{self._head} SELECT {', '.join(selected)} FROM json_each(?1){where}{self._order}"
            )
        return statement


def _fits_64_bits(values: list[tuple], i: int) -> bool:
    """Whether column ``i`` of these rows holds no integer beyond SQLite's 64 bits."""
    column = list(map(itemgetter(i), values))
    low, high = _INT64
    try:
        return low <= min(column) and max(column) <= high
    except (
        TypeError
    ):  # NULLs among them (or values of another type, which are not integers too long)
        return all(not isinstance(v, int) or low <= v <= high for v in column)


def update_rows(session, table, key: str, rows: list[dict[str, Any]]) -> None:
    """Update many rows by ``key`` (a column name) with one driver ``executemany``: each row dict holds the
    key's value and the new values of the same other columns. The counterpart of :func:`insert_rows` for
    writes that would otherwise be thousands of ORM ``UPDATE`` statements (e.g. the cached balances an
    import touches). ORM objects of these rows are not refreshed: set them with
    :func:`sqlalchemy.orm.attributes.set_committed_value`. A table whose columns compute an ``onupdate``
    value goes through SQLAlchemy's executemany instead (same result, slower). On SQLite within
    :func:`crmcore.storage.background.background_inserts` the update joins the writer thread's queue as one
    ``UPDATE … FROM json_each(?)``, like the inserts (a failure is raised by the next statement, or at the end
    of the block); rows repeating a key, or holding an integer beyond 64 bits, keep the ``executemany``."""
    if not rows:
        return
    conn = session.connection()
    keys = tuple(rows[0])
    cache_key = (table, conn.dialect.name, ("update", key) + keys)
    shape = _SHAPES.get(cache_key)
    if shape is None:
        shape = _SHAPES[cache_key] = _update_shape(conn.dialect, table, key, keys)
    statement, convert, json_update = shape
    if convert is None:
        conn.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in rows])
        return
    values = list(map(convert, rows))
    writer = writer_for(conn.connection.dbapi_connection) if json_update else None
    # one row per key (executemany's later rows would win, a join picks any) and every integer within 64 bits
    # (executemany raises OverflowError; JSON would turn it into a float)
    payload = (
        writer.encode(values)
        if writer is not None
        and len({row[key] for row in rows}) == len(rows)
        and all(_fits_64_bits(values, i) for i in range(len(values[0])))
        else None
    )
    if (
        payload is not None
    ):  # one statement in the queue's order, without waiting for it (background.py)
        writer.submit_json(json_update, payload, (), None, table.name)
    else:
        conn.exec_driver_sql(statement, values)


def _update_shape(dialect, table, key: str, keys: tuple[str, ...]):
    from sqlalchemy import bindparam, update

    stmt = (
        update(table)
        .where(table.c[key] == bindparam(f"b_{key}"))
        .values({c: bindparam(f"b_{c}") for c in keys if c != key})
    )
    compiled = stmt.compile(dialect=dialect)
    binds = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    if any(not b.startswith("b_") for b in binds):  # an onupdate default must be computed per row
        return stmt, None, None
    names = [b[2:] for b in binds]
    as_tuple = _row_converter(names, [_processor(table.c[n], dialect) for n in names])
    if compiled.positional:
        return compiled.string, as_tuple, _json_update(dialect, table, key, names)

    def as_dict(row):  # named parameters (psycopg's pyformat)
        return dict(zip(binds, as_tuple(row)))

    return compiled.string, as_dict, None


def _json_update(dialect, table, key: str, names: list[str]) -> str | None:
    """SQLite: the update of many rows as one ``UPDATE … FROM json_each(?)`` for the writer thread (a driver
    ``executemany`` there would wait for the GIL after every row); ``None`` when a column's values would not
    travel exactly as JSON."""
    if dialect.name != "sqlite" or not all(
        issubclass(_python_type(table.c[n]), _JSON_SAFE) for n in names
    ):
        return None
    quote = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    assignments = ", ".join(
        f"{quote(n)} = json_rows.value->>{i}" for i, n in enumerate(names) if n != key
    )
    return (
        f"UPDATE {name} SET {assignments} FROM json_each(?1) AS json_rows "
        f"WHERE {name}.{quote(key)} = json_rows.value->>{names.index(key)}"
    )
