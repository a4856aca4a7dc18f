"""Batched writes that store exactly what the kernel's one-at-a-time services store.

``add_customers`` = :func:`crmcore.services.customers.add_customer` for many customers: the same rows
(customer, phones, emails, tags, name search tokens, a ``create`` audit entry) and the same event
(``crm_customer_created`` with the same outbox payload), written with Core multi-row inserts.
``record_interactions`` = :func:`crmcore.services.interactions.record_interaction` for many interactions:
the same row and ``crm_interaction_recorded`` with the same payload, in the order given.

Plugins still get every hook: ``crm_validate_customer`` is asked about each new customer before anything is
written (:func:`refusals`), and ``crm_customer_created`` receives the stored customers after their batch.
Interactions are batched only when no enabled plugin implements ``crm_interaction_recorded``; otherwise the
import calls the kernel's ``record_interaction`` row after row, so a plugin sees each event with exactly the
database it would see live (see :func:`hooks_implemented`). Tests check that the paths store the same thing.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import func, insert, select, text

from ..domain.money import Money
from ..domain.text import normalize, search_tokens
from ..services.customers import PreparedCustomer
from ..services.interactions import PreparedInteraction, interaction_to_dict
from ..storage.models import (
    AuditEntry, Customer, CustomerEmail, CustomerPhone, CustomerSearchToken, CustomerTag, Interaction,
)


def hooks_implemented(uow, *names: str) -> bool:
    """True when any enabled plugin (or the kernel) implements one of these hooks."""
    hook = uow.plugins.hook
    return any(getattr(hook, n).get_hookimpls() for n in names if hasattr(hook, n))


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


def refusals(uow, prepared: PreparedCustomer) -> list[str]:
    """What the plugins' ``crm_validate_customer`` say about a new customer, asked exactly as
    ``add_customer`` asks (a transient :class:`Customer` with its phones, emails and tags, all fields as
    changes); ``[]`` when they accept it."""
    from ..services.customers import customer_to_dict

    p = prepared
    customer = Customer(kind=p.kind, display_name=p.name, search_key=normalize(p.name)[:300], external_id=p.external_id,
                        birthday=p.birthday, city=p.city, address=p.address, owner=p.owner,
                        consent_sms=p.consent_sms, consent_email=p.consent_email, attributes=dict(p.attributes))
    customer.phones = [CustomerPhone(e164=ph.e164, kind=ph.kind, position=i) for i, ph in enumerate(p.phones)]
    customer.emails = [CustomerEmail(email=e, position=i) for i, e in enumerate(p.emails)]
    customer.tags = [CustomerTag(tag=t) for t in p.tags]
    errors: list[str] = []
    for result in uow.call("crm_validate_customer", customer=customer, changes=customer_to_dict(customer, with_sections=False)):
        errors.extend(result or ())
    return errors


def add_customers(uow, prepared: Sequence[PreparedCustomer]) -> list[int]:
    """Store new customers (already checked: unique external ids, clean attributes, plugins' validation);
    returns their ids. When a plugin implements ``crm_customer_created`` it receives each stored customer
    (loaded with its phones, emails and tags) after the batch is written."""
    if not prepared:
        return []
    session = uow.session
    session.flush()
    now = uow.now()
    rows = [{"kind": p.kind, "display_name": p.name, "search_key": normalize(p.name)[:300], "external_id": p.external_id,
             "birthday": p.birthday, "city": p.city, "address": p.address, "owner": p.owner,
             "consent_sms": p.consent_sms, "consent_email": p.consent_email, "attributes": dict(p.attributes),
             "created_at": now, "updated_at": now} for p in prepared]
    ids = insert_with_ids(session, Customer.__table__, rows)
    phones: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for cid, p in zip(ids, prepared):
        phones.extend({"customer_id": cid, "e164": ph.e164, "kind": ph.kind, "position": i} for i, ph in enumerate(p.phones))
        emails.extend({"customer_id": cid, "email": e, "position": i} for i, e in enumerate(p.emails))
        tags.extend({"customer_id": cid, "tag": t} for t in p.tags)
        tokens.extend({"customer_id": cid, "token": t} for t in {t[:300] for t in search_tokens(p.name)})
        audit.append({"at": now, "actor": uow.actor, "action": "create", "entity": "customer", "entity_id": str(cid),
                      "customer_id": cid, "changes": {"name": p.name}})
    for model, values in ((CustomerPhone, phones), (CustomerEmail, emails), (CustomerTag, tags),
                          (CustomerSearchToken, tokens), (AuditEntry, audit)):
        insert_rows(session, model.__table__, values)
    loaded: dict[int, Customer] = {}
    if hooks_implemented(uow, "crm_customer_created"):
        from sqlalchemy.orm import selectinload

        loaded = {c.id: c for c in session.scalars(
            select(Customer).where(Customer.id.in_(ids))
            .options(selectinload(Customer.phones), selectinload(Customer.emails), selectinload(Customer.tags)))}
    for cid, p in zip(ids, prepared):
        uow.emit("crm_customer_created", customer_id=cid, data={"customer_id": cid, "name": p.name},
                 customer=loaded.get(cid))
    return ids


class StoredInteraction:
    """The stored values of an interaction, shaped like the model for :func:`interaction_to_dict`."""

    __slots__ = ("id", "customer_id", "kind", "channel", "direction", "occurred_at", "amount_minor", "currency",
                 "external_id", "related_id", "payload", "recorded_at", "recorded_by")

    def __init__(self, **values: Any):
        for k, v in values.items():
            setattr(self, k, v)

    @property
    def money(self) -> Money | None:
        return None if self.amount_minor is None else Money(self.amount_minor, self.currency or "IRR")


def interaction_row(uow, customer_id: int, p: PreparedInteraction, now) -> dict[str, Any]:
    return {"customer_id": customer_id, "kind": p.kind, "channel": p.channel, "direction": p.direction,
            "occurred_at": p.occurred_at, "amount_minor": p.money.minor if p.money else None,
            "currency": p.money.currency if p.money else None, "external_id": p.external_id,
            "related_id": p.related_id, "payload": p.payload, "recorded_at": now, "recorded_by": uow.actor}


def record_interactions(uow, items: Iterable[tuple[int, PreparedInteraction]], customers: dict | None = None) -> int:
    """Store ``(customer_id, prepared)`` pairs in the given order with one multi-row insert, then announce each
    one exactly as :func:`crmcore.services.interactions.record_interaction` does (outbox row, then
    ``crm_interaction_recorded`` with the interaction and its customer); returns the count.

    ``customers`` maps ids to loaded :class:`Customer` objects for the hook; the importer passes them when a
    plugin listens (without listeners, ``customer`` is ``None``: nobody reads it).
    """
    now = uow.now()
    rows = [interaction_row(uow, cid, p, now) for cid, p in items]
    if not rows:
        return 0
    ids = insert_with_ids(uow.session, Interaction.__table__, rows)
    customers = customers or {}
    for iid, row in zip(ids, rows):
        stored = StoredInteraction(id=iid, **{k: row[k] for k in StoredInteraction.__slots__ if k != "id"})
        uow.emit("crm_interaction_recorded", customer_id=row["customer_id"], data=interaction_to_dict(stored),
                 interaction=stored, customer=customers.get(row["customer_id"]))
    return len(rows)
