"""Which relay publishes which partition of the outbox.

A customer's events all fall in partition ``customer_id % PARTITIONS`` (events without a customer in 0). Only
one relay at a time publishes a partition, in id order, so a customer's events reach the broker in order
even with several relays on several machines:

- PostgreSQL: a relay row-locks free partitions with ``SELECT … FOR UPDATE SKIP LOCKED`` for the length of
  one batch's transaction. A relay that dies releases them with its connection.
- SQLite (one machine; every write transaction is ``BEGIN IMMEDIATE``): a relay takes a lease on partitions
  (``holder`` until ``lease_until``), renews it with each batch and releases it when it stops. A dead relay's
  lease runs out after ``lease_seconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from sqlalchemy import case, func, or_, select, update

from ..domain.dates import utcnow
from ..storage.models import OutboxEvent
from .models import RelayPartition

PARTITIONS = 16


def partition_expression():
    """SQL for the partition of an outbox row (the same on SQLite and PostgreSQL)."""
    return func.coalesce(OutboxEvent.customer_id, 0) % PARTITIONS


def partition_of(customer_id: Optional[int]) -> int:
    return (customer_id or 0) % PARTITIONS


def ensure_partitions(session) -> None:
    """Create the partition rows once (idempotent, safe when two relays start together)."""
    existing = set(session.scalars(select(RelayPartition.partition_no)))
    missing = [n for n in range(PARTITIONS) if n not in existing]
    if not missing:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(RelayPartition)
        .values([{"partition_no": n} for n in missing])
        .on_conflict_do_nothing()
    )


def pending_partitions(session, peek: int) -> list[int]:
    """The partitions of the oldest ``peek`` unpublished events, oldest first (so no partition starves)."""
    rows = session.scalars(
        select(OutboxEvent.customer_id)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(peek)
    )
    return list(dict.fromkeys(partition_of(c) for c in rows))


def _in_order_of(numbers: list[int]):
    return case({n: i for i, n in enumerate(numbers)}, value=RelayPartition.partition_no)


def lock_free_partitions(session, among: list[int], limit: Optional[int] = None) -> list[int]:
    """PostgreSQL: row-lock those of ``among`` that no other relay is publishing, for this transaction."""
    if not among:
        return []
    query = (
        select(RelayPartition.partition_no)
        .where(RelayPartition.partition_no.in_(among))
        .order_by(_in_order_of(among))
        .with_for_update(skip_locked=True)
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def lease_partitions(
    session,
    holder: str,
    lease_seconds: float,
    among: list[int],
    limit: Optional[int] = None,
    now: Optional[datetime] = None,
) -> list[int]:
    """SQLite: lease those of ``among`` that are free, expired or already ours; give up our other leases."""
    now = now or utcnow()
    numbers: list[int] = []
    if among:
        takeable = or_(
            RelayPartition.holder.is_(None),
            RelayPartition.holder == holder,
            RelayPartition.lease_until < now,
        )
        candidates = (
            select(RelayPartition.partition_no)
            .where(RelayPartition.partition_no.in_(among), takeable)
            .order_by(_in_order_of(among))
        )
        if limit:
            candidates = candidates.limit(limit)
        numbers = list(session.scalars(candidates))
    session.execute(
        update(RelayPartition)
        .where(RelayPartition.holder == holder, RelayPartition.partition_no.not_in(numbers))
        .values(holder=None, lease_until=None)
    )
    if numbers:
        session.execute(
            update(RelayPartition)
            .where(RelayPartition.partition_no.in_(numbers))
            .values(holder=holder, lease_until=now + timedelta(seconds=lease_seconds))
        )
    return numbers


def still_leased(
    session, holder: str, numbers: Iterable[int], now: Optional[datetime] = None
) -> bool:
    numbers = list(numbers)
    held = session.scalar(
        select(func.count())
        .select_from(RelayPartition)
        .where(
            RelayPartition.partition_no.in_(numbers),
            RelayPartition.holder == holder,
            RelayPartition.lease_until >= (now or utcnow()),
        )
    )
    return held == len(numbers)


def release_leases(session, holder: str) -> None:
    session.execute(
        update(RelayPartition)
        .where(RelayPartition.holder == holder)
        .values(holder=None, lease_until=None)
    )
