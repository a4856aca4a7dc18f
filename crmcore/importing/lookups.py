"""Lookups an import repeats for every batch, written so that their cost does not grow with the tables.

An import is one transaction: the rows it adds have no planner statistics until it commits (and a test
database's statistics may describe an almost empty table). With such estimates PostgreSQL planned
``customer_phones JOIN customers`` as a scan of every customer, and ``kind = … AND external_id IN (…)`` as a
walk of the ``(kind, occurred_at)`` index over every row of the kind: each batch slower than the last (59 s
per batch at 300,000 interactions). On PostgreSQL each wanted value is therefore probed on its own through a
``LATERAL`` subquery on the exact index key — a nested loop of index probes whatever the statistics say. On
SQLite the wanted values travel as one JSON array (``IN (SELECT value FROM json_each(?))``, which probes the
same index as an ``IN`` list): the statement is compiled once, where a list of 2,000 values was rendered into
a new statement for every batch.

Each lookup takes the unit of work's session or its connection (the customer import runs them on the
background writer's thread with the connection when a batch needs more than :mod:`.sqlite_lookups` does).
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import BigInteger, String, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from ..storage.jsoncodec import dumps
from ..storage.models import Customer, Interaction


def is_postgresql(db) -> bool:
    """``db``: a session, or a connection (an import's lookups on the writer thread use one)."""
    dialect = db.dialect if hasattr(db, "dialect") else db.get_bind().dialect
    return dialect.name == "postgresql"


def values_as_rows(values: list[Any], sql_type, name: str):
    """``unnest(:values) AS wanted(value)`` — the values as rows, for a lateral probe per value."""
    return (
        func.unnest(bindparam(name, values, type_=ARRAY(sql_type)))
        .table_valued("value")
        .render_derived(name="wanted")
    )


def json_param(values: list[Any]) -> str | None:
    """SQLite: ``values`` as the JSON array parameter of a ``json_each``, or ``None`` when a value would not
    travel exactly as JSON text (SQLite's JSON strings end at a NUL)."""
    payload = dumps(values)
    return None if "\\u0000" in payload else payload


def json_each_values():
    """SQLite: ``(SELECT value FROM json_each(:values))``, for ``column.in_(…)``."""
    wanted = func.json_each(bindparam("values", type_=String)).table_valued("value")
    return select(wanted.c.value).scalar_subquery()


def json_values(values: list[Any]):
    """SQLite: :func:`json_each_values` for ``column.in_(…)`` and its parameters, or ``None`` (see
    :func:`json_param`)."""
    payload = json_param(values)
    return None if payload is None else (json_each_values(), {"values": payload})


def active_owners(session, column, values: Iterable[str]) -> list[tuple[str, int]]:
    """``(value, customer id)`` for each active (not merged, not forgotten) customer owning one of ``values``
    in ``column`` (``CustomerPhone.e164`` or ``CustomerEmail.email``)."""
    values = sorted(set(values))
    if not values:
        return []
    model = column.class_
    if is_postgresql(session):
        wanted = values_as_rows(values, String, "values")
        # OFFSET 0 keeps the planner from flattening the probe into a join it would plan from estimates
        owner = select(model.customer_id).where(column == wanted.c.value).offset(0).lateral("owner")
        pairs = session.execute(
            select(wanted.c.value, owner.c.customer_id).select_from(wanted).join(owner, true())
        ).all()
    elif (
        as_json := json_values(values)
    ) is not None:  # one statement, the customers' state included
        wanted, params = as_json
        alive = (Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))
        return [
            tuple(r)
            for r in session.execute(
                select(column, model.customer_id)
                .join(Customer, Customer.id == model.customer_id)
                .where(column.in_(wanted), *alive),
                params,
            )
        ]
    else:
        pairs = session.execute(select(column, model.customer_id).where(column.in_(values))).all()
    if not pairs:
        return []
    active = active_customers(session, {cid for _value, cid in pairs})
    return [(value, cid) for value, cid in pairs if cid in active]


def active_customers(session, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that are customers neither merged away nor forgotten."""
    ids = sorted(set(ids))
    if not ids:
        return set()
    alive = (Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))
    if is_postgresql(session):
        wanted = values_as_rows(ids, BigInteger, "ids")
        found = (
            select(Customer.id)
            .where(Customer.id == wanted.c.value, *alive)
            .offset(0)
            .lateral("found")
        )
        return set(session.scalars(select(found.c.id).select_from(wanted).join(found, true())))
    return set(session.scalars(select(Customer.id).where(Customer.id.in_(ids), *alive)))


def stored_external_ids(session, kind: str, external_ids: Iterable[str]) -> dict[str, int]:
    """``external id → interaction id`` of the stored interactions of ``kind`` with these external ids
    (the ``(kind, external_id)`` unique index, one probe per id)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    if is_postgresql(session):
        values = values_as_rows(wanted, String, "exts")
        found = (
            select(Interaction.id)
            .where(Interaction.kind == kind, Interaction.external_id == values.c.value)
            .limit(1)
            .lateral("found")
        )
        return dict(
            session.execute(
                select(values.c.value, found.c.id).select_from(values).join(found, true())
            ).all()
        )
    columns = (Interaction.external_id, Interaction.id)
    if (as_json := json_values(wanted)) is not None:
        return dict(
            session.execute(
                select(*columns).where(
                    Interaction.kind == kind, Interaction.external_id.in_(as_json[0])
                ),
                as_json[1],
            ).all()
        )
    return dict(
        session.execute(
            select(*columns).where(Interaction.kind == kind, Interaction.external_id.in_(wanted))
        ).all()
    )


def customers_by_external_id(
    session, external_ids: Iterable[str]
) -> list[tuple[int, str, int | None, Any]]:
    """``(id, external id, merged into, forgotten at)`` of the customers with these codes (merged and
    forgotten ones included: the caller follows merges)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return []
    columns = (Customer.id, Customer.external_id, Customer.merged_into_id, Customer.forgotten_at)
    if is_postgresql(session):
        values = values_as_rows(wanted, String, "codes")
        found = (
            select(*columns).where(Customer.external_id == values.c.value).limit(1).lateral("found")
        )
        return [
            tuple(r) for r in session.execute(select(found).select_from(values).join(found, true()))
        ]
    if (as_json := json_values(wanted)) is not None:
        return [
            tuple(r)
            for r in session.execute(
                select(*columns).where(Customer.external_id.in_(as_json[0])), as_json[1]
            )
        ]
    return [
        tuple(r) for r in session.execute(select(*columns).where(Customer.external_id.in_(wanted)))
    ]
