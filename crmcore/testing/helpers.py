"""Helpers for tests of the kernel and of plugins."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select


class FrozenClock:
    """A clock for ``CRM(clock=…)`` that stays where you put it: ``clock.set(...)``, ``clock.advance(days=1)``."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("give an aware datetime")
        self.now = moment

    def advance(self, **kwargs: Any) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


def outbox_events(
    app, event: str | None = None, customer_id: int | None = None
) -> list[dict[str, Any]]:
    """The outbox rows (oldest first), optionally only of one event name or customer."""
    from ..storage.models import OutboxEvent

    with app.unit_of_work(readonly=True) as uow:
        q = select(OutboxEvent).order_by(OutboxEvent.id)
        if event:
            q = q.where(OutboxEvent.event == event)
        if customer_id is not None:
            q = q.where(OutboxEvent.customer_id == customer_id)
        return [
            {"id": o.id, "event": o.event, "customer_id": o.customer_id, "payload": o.payload}
            for o in uow.session.scalars(q)
        ]


def make_customer(app, name: str = "مریم رضایی", **fields: Any) -> int:
    """Add a customer in its own unit of work; returns the id."""
    from ..services.customers import add_customer

    with app.unit_of_work() as uow:
        return add_customer(uow, name=name, **fields).id


def record_purchase(
    app,
    customer_id: int,
    amount: str | int,
    *,
    currency: str = "IRR",
    at: Any = None,
    external_id: str | None = None,
    payload: dict | None = None,
    kind: str = "purchase",
    related_id: int | None = None,
) -> int:
    """Record a purchase (or ``kind="refund"``) in its own unit of work, emitting the kernel event; returns the id."""
    from ..services.customers import get_customer
    from ..services.interactions import record_interaction

    with app.unit_of_work() as uow:
        c = get_customer(uow.session, customer_id)
        return record_interaction(
            uow,
            c,
            kind=kind,
            amount=str(amount),
            currency=currency,
            occurred_at=at,
            external_id=external_id,
            payload=payload,
            related_id=related_id,
        ).id


def migration_differences(app, owner: str) -> list:
    """Differences between ``owner``'s models (``kernel`` or a plugin name) and the migrated database of ``app``."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ..storage.base import Base
    from ..storage.revision import table_owner

    app.plugins.pm  # import the enabled plugins' models

    def include_object(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        tname = name if type_ == "table" else (table.name if table is not None else None)
        if tname in (None, "alembic_version"):
            return tname is None
        return table_owner(tname) == owner

    with app.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": False}
        )
        diff = compare_metadata(ctx, Base.metadata)
        if conn.dialect.name == "sqlite":
            diff = _without_inline_sqlite_fks(conn, diff)
        return diff


def _without_inline_sqlite_fks(conn, diff: list) -> list:
    """Drop the pairs "remove unnamed FK / add named FK" that only mean SQLite's reflection cannot
    read a column's inline ``REFERENCES`` (added by ``ALTER TABLE ADD COLUMN``): its name and ON
    DELETE. The action is compared here from ``PRAGMA foreign_key_list`` instead."""
    from sqlalchemy import text

    def key(fk) -> tuple:
        return (
            fk.table.name,
            tuple(c.name for c in fk.columns),
            tuple(e.target_fullname for e in fk.elements),
        )

    removed = {key(d[1]): d for d in diff if d[0] == "remove_fk" and d[1].name is None}
    kept = []
    for d in diff:
        if d[0] == "add_fk" and key(d[1]) in removed:
            table, columns, _target = key(d[1])
            pragma = conn.execute(text(f"PRAGMA foreign_key_list({table})"))
            actions = {row[3]: row[6] for row in pragma}
            if all(actions.get(c) == (d[1].ondelete or "NO ACTION") for c in columns):
                removed[key(d[1])] = None
                continue
        kept.append(d)
    return [
        d
        for d in kept
        if not (d[0] == "remove_fk" and d[1].name is None and removed.get(key(d[1])) is None)
    ]


def assert_migrations_match_models(app, owner: str) -> None:
    """Fail when ``owner``'s migrations do not create exactly what its models declare."""
    diff = migration_differences(app, owner)
    assert not diff, f"migrations of {owner!r} differ from its models: {diff}"


def emit_event(
    app, hook_name: str, *, customer_id: int | None = None, data: dict | None = None, **kwargs: Any
) -> list:
    """Announce an event (kernel or plugin hook) in its own unit of work, as the kernel would: the outbox row is
    written and every implementation runs; returns the implementations' results."""
    with app.unit_of_work() as uow:
        # a test may announce another plugin's event without that plugin enabled (what voip would
        # write, seen by the kernel's call pages): the name is taken as declared here
        uow._emitted.add(hook_name)
        return uow.emit(hook_name, customer_id=customer_id, data=data or {}, **kwargs)


@contextmanager
def cheap_passwords():
    """Web users added inside get the cheapest argon2 parameters (a real hash costs ~0.6 s)."""
    from argon2 import PasswordHasher, profiles

    from ..web import users

    original = users._hasher
    users._hasher = lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    try:
        yield
    finally:
        users._hasher = original
