"""Customer search on the unit of work's connection: the statements of
:mod:`crmcore.services.search_plan` (the ranking and its rules) with the ``--where`` fields of the
kernel and plugins and an optional ``restrict`` clause (e.g. record rules: which customers the user
may see) added to them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import attrs
from sqlalchemy import bindparam, exists, literal_column, select, text
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.orm import selectinload

from ..storage.models import Customer
from . import search_plan
from .search_fields import where_conditions
from .search_plan import Page


@attrs.frozen
class Match:
    customer: Customer
    score: int
    matched: str  # phone | email | external_id | name | all


def search_customers(
    uow,
    query: str | None = None,
    *,
    where: list[str] | None = None,
    restrict: Any = None,
    limit: int = 20,
    cursor: str | None = None,
    contacts: bool = True,
) -> Page:
    """A page of customers matching ``query`` (name words, a phone number in any format or its last
    digits, an email or its start, an external id), every ``where`` clause and ``restrict`` (a
    SQLAlchemy condition on ``customers``), best first (see :mod:`crmcore.services.search_plan`).
    ``cursor``: the previous page's ``next_cursor``."""
    conditions = where_conditions(uow, where or [])
    if restrict is not None:
        conditions.append(restrict)
    connection = uow.session.connection()
    extra, binds = _extra(conditions, connection.dialect)
    if extra is None:  # the driver's own parameter style: nothing for SQLAlchemy to parse
        style = "colon" if connection.dialect.name == "sqlite" else "pyformat"
    else:  # text() takes :name, and its typed parameters give the conditions' values their SQL form
        style = "colon"

    def execute(sql: str, params: dict[str, Any], with_extra: bool) -> list[tuple]:
        if extra is None:
            return connection.exec_driver_sql(sql, params).all()
        stmt = _text(sql).bindparams(*binds) if with_extra else _text(sql)
        return connection.execute(stmt, params).all()

    return search_plan.search(
        execute,
        connection.dialect.name,
        style,
        query,
        limit=limit,
        cursor=cursor,
        extra=extra,
        contacts=contacts,
    )


@lru_cache(maxsize=256)  # a statement's text depends on the query's shape, not on its values
def _text(sql: str):
    return text(sql)


def find_customers(
    uow,
    query: str | None = None,
    *,
    where: list[str] | None = None,
    restrict: Any = None,
    limit: int = 20,
    cursor: str | None = None,
) -> list[Match]:
    """:func:`search_customers` as loaded customers (with their phones and emails) and their scores."""
    page = search_customers(
        uow, query, where=where, restrict=restrict, limit=limit, cursor=cursor, contacts=False
    )
    if not page.results:
        return []
    ids = [r["id"] for r in page.results]
    loaded = {
        c.id: c
        for c in uow.session.scalars(
            select(Customer)
            .where(Customer.id.in_(ids))
            .options(selectinload(Customer.phones), selectinload(Customer.emails))
        )
    }
    return [
        Match(loaded[r["id"]], r["score"], r["matched"]) for r in page.results if r["id"] in loaded
    ]


def _extra(conditions: list[Any], dialect) -> tuple[str | None, list]:
    """The conditions as SQL on the search's ``c`` (customers) and their bound values. They are
    written for the ``customers`` table and may correlate subqueries with it, so they stay inside
    their own ``EXISTS (SELECT … FROM customers WHERE customers.id = c.id AND …)``, a primary-key
    probe per candidate."""
    if not conditions:
        return None, []
    table = Customer.__table__
    clause = exists().where(table.c.id == literal_column("c.id"), *conditions)
    named = type(dialect)(paramstyle="named")  # text() takes :name
    named.bind_typing = BindTyping.NONE  # no casts after the names (psycopg's :x::VARCHAR)
    compiled = clause.compile(dialect=named, compile_kwargs={"render_postcompile": True})
    types = {name: bind.type for name, bind in compiled.binds.items()}
    binds = [
        bindparam(name, value, type_=types.get(name)) for name, value in compiled.params.items()
    ]
    return str(compiled), binds


def match_to_dict(m: Match) -> dict[str, Any]:
    c = m.customer
    return {
        "id": c.id,
        "name": c.display_name,
        "phones": [p.e164 for p in c.phones],
        "emails": [e.email for e in c.emails],
        "external_id": c.external_id,
        "city": c.city,
        "score": m.score,
        "matched": m.matched,
    }
