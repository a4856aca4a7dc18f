"""Driver-level multi-row inserts: exactly the values SQLAlchemy would send, without its per-row bookkeeping
(SQLite ``executemany``, PostgreSQL ``COPY``). Used by bulk imports and by the unit of work's outbox flush."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text


def insert_with_ids(session, table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` and return their new ids, in order.

    The ids are assigned before the insert, so the rows go in with one driver ``executemany`` (SQLAlchemy
    would otherwise insert row by row on SQLite to return ids in order): SQLite — after the current maximum,
    safe because the unit of work holds the write lock from BEGIN (IMMEDIATE); PostgreSQL — drawn from the
    table's own sequence.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(start, start + len(rows)))
    elif dialect == "postgresql":
        ids = sorted(session.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                                     {"t": table.name, "n": len(rows)}).scalars())
    else:  # pragma: no cover - other databases are not supported by the kernel
        return list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    for new_id, row in zip(ids, rows):
        row["id"] = new_id
    insert_rows(session, table, rows)
    return ids


def _copy(conn, table, procs, rows) -> None:
    """PostgreSQL's COPY through psycopg (in the session's transaction): an order of magnitude faster than
    any INSERT form for thousands of rows."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name, _p in procs)
    with conn.connection.dbapi_connection.cursor() as cursor:
        with cursor.copy(f"COPY {conn.dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([proc(row[name]) if proc else row[name] for name, proc in procs])


def _processor(column, dialect):
    """The column's bind processor; for dates and times remembered per value (an import stamps every row
    with the same ``recorded_at`` and histories repeat the same days)."""
    proc = column.type.dialect_impl(dialect).bind_processor(dialect)
    try:
        python_type = getattr(column.type, "impl", column.type).python_type
    except NotImplementedError:
        python_type = object
    if proc is None or python_type not in (datetime, date):
        return proc
    cache: dict[Any, Any] = {}

    def cached(value):
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = proc(value)
            if len(cache) > 10_000:
                cache.clear()
            return out

    return cached


def insert_rows(session, table, rows: list[dict[str, Any]]) -> None:
    """A multi-row insert of rows that all have the same keys.

    The values go through each column type's own bind processor (exactly what SQLAlchemy would send)
    straight to the driver: SQLite's ``executemany`` (skipping SQLAlchemy's per-row bookkeeping, which costs
    more than SQLite's insert itself) or PostgreSQL's ``COPY`` (SQLAlchemy's multi-VALUES pages make psycopg
    re-parse a 100 kB statement per page).
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]), for_executemany=True)
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    if any(name not in rows[0] for name in names):  # a column default would have to be computed: let SQLAlchemy
        session.execute(insert(table), rows)
        return
    procs = [(name, _processor(table.c[name], dialect)) for name in names]
    if dialect.name == "postgresql":
        _copy(conn, table, procs, rows)
        return
    if compiled.positional:
        params: list = [tuple(proc(row[name]) if proc else row[name] for name, proc in procs) for row in rows]
    else:
        params = [{name: proc(row[name]) if proc else row[name] for name, proc in procs} for row in rows]
    conn.exec_driver_sql(compiled.string, params)
