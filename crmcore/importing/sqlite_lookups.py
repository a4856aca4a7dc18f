"""The customer import's lookups on SQLite, run on the background writer's thread (see
:meth:`crmcore.importing.customers.CustomerImporter.run`).

The same queries as :meth:`~crmcore.importing.customers.CustomerImporter._lookup` (customer codes, phone and
email owners among the active customers, then the stored customers these lead to with their phones, emails
and tags), compiled once from the same SQLAlchemy statements and run on the driver connection, each result
coming back as one JSON value (``json_group_array``). On the writer thread every step of the database gives
up the GIL and waits for it again behind the busy main thread, and SQLAlchemy's per-statement work would hold
the GIL the main thread needs: here the thread holds it only to start up to seven statements and parse the
keys out of their JSON.
Values are converted by their column types' result processors, as SQLAlchemy converts them. A test compares
the result with :meth:`_lookup`'s on the same data.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable

import orjson
from sqlalchemy import func, select

from ..storage.models import Customer, CustomerEmail, CustomerPhone
from .lookups import json_each_values
from .stored import CHILDREN, StoredCustomer, build_stored_customers, stored_customers_select

ALIVE = (Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))


def _in_json(column):
    """``column IN (SELECT value FROM json_each(?))``: the wanted values as one JSON array parameter."""
    return column.in_(json_each_values())


class _Query:
    """One statement compiled for SQLite, returning its rows as one JSON array."""

    def __init__(self, dialect, stmt):
        inner = stmt.subquery()
        compiled = select(func.json_group_array(func.json_array(*inner.c))).compile(dialect=dialect)
        if list(compiled.positiontup) != [
            "values"
        ]:  # pragma: no cover - the statements below have one
            raise AssertionError(compiled.positiontup)
        self.sql = compiled.string
        self.converters: list[tuple[int, Callable]] = [
            (i, proc)
            for i, c in enumerate(stmt.selected_columns)
            if (proc := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        ]

    def fetch(self, dbapi_connection, values_json: str) -> str:
        """Run on the writer thread: the raw JSON text."""
        cursor = dbapi_connection.execute(self.sql, (values_json,))
        try:
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def rows(self, text: str) -> list[list[Any]]:
        rows = orjson.loads(text)
        for i, convert in self.converters:
            for row in rows:
                row[i] = convert(row[i])
        return rows


class SqliteBatchLookups:
    """The queries, compiled once per import."""

    def __init__(self, dialect):
        self.codes = _Query(
            dialect,
            select(Customer.id, Customer.external_id, Customer.merged_into_id).where(
                _in_json(Customer.external_id)
            ),
        )
        self.owners = {
            "p:": _Query(
                dialect,
                select(CustomerPhone.e164, CustomerPhone.customer_id)
                .join(Customer, Customer.id == CustomerPhone.customer_id)
                .where(_in_json(CustomerPhone.e164), *ALIVE),
            ),
            "e:": _Query(
                dialect,
                select(CustomerEmail.email, CustomerEmail.customer_id)
                .join(Customer, Customer.id == CustomerEmail.customer_id)
                .where(_in_json(CustomerEmail.email), *ALIVE),
            ),
        }
        self.customers = _Query(dialect, stored_customers_select().where(_in_json(Customer.id)))
        # each row (customer id, value, sort keys…): JSON keeps no order, so the rows carry what to sort by
        self.children = {
            what: _Query(
                dialect, select(model.customer_id, value, *order).where(_in_json(model.customer_id))
            )
            for what, model, value, order in CHILDREN
        }

    def fetch(
        self, dbapi_connection, codes: str, phones: str, emails: str, fallback: Callable[[], Any]
    ) -> dict[str, Any] | Any:
        """On the writer thread (a few Python steps): the raw results for these customer codes, phones and
        emails (each a JSON array from :func:`~crmcore.importing.lookups.json_param`), and the stored
        customers they lead to. A code kept by a merged-away customer (whose survivor takes one query per
        merge) leaves the batch to ``fallback`` (the importer's own lookup), whose result is returned instead."""
        params = {"codes": codes, "p:": phones, "e:": emails}
        found: dict[str, Any] = {
            "codes": self.codes.fetch(dbapi_connection, codes) if codes != "[]" else "[]"
        }
        wanted: set[int] = set()
        if found["codes"] != "[]":
            for cid, _code, merged in orjson.loads(found["codes"]):
                if merged is not None:
                    return fallback()
                wanted.add(cid)
        for prefix in ("p:", "e:"):
            text = found[prefix] = (
                self.owners[prefix].fetch(dbapi_connection, params[prefix])
                if params[prefix] != "[]"
                else "[]"
            )
            if text != "[]":
                wanted.update(cid for _value, cid in orjson.loads(text))
        if wanted:
            ids = orjson.dumps(sorted(wanted)).decode()
            found["customers"] = self.customers.fetch(dbapi_connection, ids)
            for what, query in self.children.items():
                found[what] = query.fetch(dbapi_connection, ids)
        return found

    def assemble(
        self, found: dict[str, Any]
    ) -> tuple[dict[str, set[int]], dict[int, StoredCustomer]]:
        """On the main thread, from :meth:`fetch`'s raw results: the customer ids by key (``x:`` code,
        ``p:`` phone, ``e:`` email) and the stored customers
        (:func:`~crmcore.importing.stored.load_stored_customers`'s result)."""
        ids: dict[str, set[int]] = {}
        for cid, code, _merged in orjson.loads(found["codes"]):
            ids.setdefault("x:" + code, set()).add(cid)
        for prefix in ("p:", "e:"):
            for value, cid in orjson.loads(found[prefix]):
                ids.setdefault(prefix + value, set()).add(cid)
        if "customers" not in found:
            return ids, {}
        return ids, build_stored_customers(
            sorted(self.customers.rows(found["customers"]), key=itemgetter(0)),
            {
                what: [(row[0], row[1]) for row in sorted(query.rows(found[what]), key=_sort_key)]
                for what, query in self.children.items()
            },
        )


def _sort_key(row: list[Any]) -> tuple:
    """Customer id, then the sort keys after the value."""
    return (row[0], *row[2:])
