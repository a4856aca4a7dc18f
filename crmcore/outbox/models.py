"""Kernel tables of the outbox relay and of the workers (imported at the end of :mod:`crmcore.storage.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.dates import utcnow
from ..storage.base import Base
from ..storage.models import OutboxEvent

EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


class RelayPartition(Base):
    """One slice of the outbox (``customer_id % PARTITIONS``) and the relay that currently publishes it.

    On PostgreSQL a relay row-locks the partitions it works on for one batch (``FOR UPDATE SKIP LOCKED``); on
    SQLite it holds a lease (``holder`` until ``lease_until``) that it renews while it works.
    """

    __tablename__ = "outbox_relay_partitions"

    partition_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[Optional[str]] = mapped_column(String(120))
    lease_until: Mapped[Optional[datetime]]
    #: the id of the last event of this partition handed to the broker
    last_event_id: Mapped[Optional[int]] = mapped_column(EVENT_ID)
    last_published_at: Mapped[Optional[datetime]]


class ProcessedEvent(Base):
    """An outbox event a worker handled (``done``) or gave up on after its retries (``failed``).

    The primary key makes handling idempotent: a second delivery of the same event finds the row and changes
    nothing; two workers handling it at once cannot both commit.
    """

    __tablename__ = "outbox_processed_events"

    event_id: Mapped[int] = mapped_column(EVENT_ID, primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[Optional[int]] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))  # done | failed
    error: Mapped[Optional[str]] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)
    worker: Mapped[str] = mapped_column(String(120))

    __table_args__ = (Index("ix_outbox_processed_events_outcome", "outcome", "event_id"),)


# Workers handle a customer's events in id order: each one looks up the previous event of the same customer.
Index("ix_outbox_customer_order", OutboxEvent.customer_id, OutboxEvent.id)
