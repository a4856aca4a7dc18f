"""The outbox relay: unpublished outbox rows → the message broker, at least once, in order per customer.

One batch: claim partitions (see :mod:`crmcore.outbox.claims`), read their oldest unpublished rows in id
order, hand them to the publisher one by one (each confirmed by the broker before the next), then mark them
published. A crash between publishing and marking publishes those rows again on the next run: consumers are
idempotent by event id (:mod:`crmcore.workers.consumer`). If the broker refuses a message, the rows before it
are marked published, the refused one has its ``attempts`` increased, and :class:`RelayPublishError` is raised.
Between batches the relay also re-publishes events the broker lost (:mod:`crmcore.outbox.repair`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from typing import Optional, Protocol

import attrs
from sqlalchemy import select, update

from ..domain.dates import utcnow
from ..errors import CRMError
from ..storage.models import OutboxEvent
from . import claims, repair
from .event import Event
from .models import RelayPartition

log = logging.getLogger("crmcore.outbox.relay")

DEFAULT_BATCH = 500


class Publisher(Protocol):
    def publish(self, event: Event) -> None:
        """Hand one event to the broker; return only once the broker has it (raise otherwise).

        A publisher may also offer ``publish_batch(events)``: all of them or none (raise), used when present.
        """


class RelayPublishError(CRMError):
    def __init__(self, event_id: int, published: int, error: BaseException):
        self.event_id = event_id
        self.published = published
        super().__init__(
            f"the broker refused outbox event {event_id} ({type(error).__name__}: {error}); "
            f"{published} events before it were published, it and the later ones stay pending"
        )


@attrs.frozen
class BatchResult:
    published: int
    partitions: tuple[int, ...]
    last_event_id: Optional[int] = None


def relay_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class OutboxRelay:
    """Publishes the outbox of ``app`` through ``publisher``.

    :param max_partitions: claim at most this many of the 16 partitions per batch (default: every free one
        among those of the oldest pending events); e.g. 8 lets two relays publish at the same time.
    :param lease_seconds: SQLite only: how long a lease lasts without renewal (a dead relay's partitions are
        taken over after this).
    :param republish_after: re-publish events published this long ago that no worker processed
        (default ``CRM_OUTBOX_REPUBLISH_AFTER``, else 10 minutes; see :mod:`crmcore.outbox.repair`).
    """

    def __init__(
        self,
        app,
        publisher: Publisher,
        *,
        batch_size: int = DEFAULT_BATCH,
        max_partitions: Optional[int] = None,
        lease_seconds: float = 30.0,
        name: Optional[str] = None,
        republish_after: Optional[timedelta] = None,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.app = app
        self.publisher = publisher
        self.batch_size = batch_size
        self.max_partitions = max_partitions
        self.lease_seconds = lease_seconds
        self.name = name or relay_name()
        self.uses_row_locks = app.engine.dialect.name == "postgresql"
        self._ready = False
        self.republish_after = republish_after or repair.republish_after_from_environment()
        # look for lost events a few times per delay, at most once a minute
        self._repair_every = max(0.2, min(self.republish_after.total_seconds() / 4, 60.0))
        self._next_repair = time.monotonic()

    # -- one batch ------------------------------------------------------------------------------------------
    def run_once(self) -> BatchResult:
        """Publish one batch (up to ``batch_size`` events); 0 published means nothing was pending for us."""
        self._ensure_partitions()
        if self.uses_row_locks:
            return self._batch_with_row_locks()
        return self._batch_with_lease()

    def _ensure_partitions(self) -> None:
        if not self._ready:
            with self.app.sessionmaker() as session, session.begin():
                claims.ensure_partitions(session)
            self._ready = True

    def _pending(self, session, partitions: list[int]) -> list[Event]:
        query = select(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        if len(partitions) < claims.PARTITIONS:
            query = query.where(claims.partition_expression().in_(partitions))
        rows = session.scalars(query.order_by(OutboxEvent.id).limit(self.batch_size))
        return [Event.from_row(r) for r in rows]

    def _publish(self, events: list[Event]) -> tuple[int, Optional[BaseException]]:
        publish_batch = getattr(self.publisher, "publish_batch", None)
        if publish_batch is not None and events:  # all or nothing (a broker transaction)
            try:
                publish_batch(events)
            except Exception as exc:
                return 0, exc
            return len(events), None
        for done, event in enumerate(events):
            try:
                self.publisher.publish(event)
            except Exception as exc:  # the broker's own errors (connection, refusal, unroutable)
                return done, exc
        return len(events), None

    def _mark(
        self, session, events: list[Event], published: int, error: Optional[BaseException]
    ) -> None:
        now = utcnow()
        sent = events[:published]
        if sent:
            ids = [e.id for e in sent]
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(ids))
                .values(published_at=now, attempts=OutboxEvent.attempts + 1)
            )
            last_by_partition: dict[int, int] = {}
            for e in sent:
                last_by_partition[claims.partition_of(e.customer_id)] = e.id
            for number, last_id in last_by_partition.items():
                session.execute(
                    update(RelayPartition)
                    .where(RelayPartition.partition_no == number)
                    .values(last_event_id=last_id, last_published_at=now)
                )
        if error is not None:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == events[published].id)
                .values(attempts=OutboxEvent.attempts + 1)
            )

    def _finish(self, events, published, error, partitions) -> BatchResult:
        if error is not None:
            raise RelayPublishError(events[published].id, published, error) from error
        return BatchResult(
            published, tuple(partitions), events[published - 1].id if published else None
        )

    def _batch_with_row_locks(self) -> BatchResult:
        with self.app.sessionmaker() as session, session.begin():
            wanted = claims.pending_partitions(session, self.batch_size)
            partitions = claims.lock_free_partitions(session, wanted, self.max_partitions)
            if not partitions:
                return BatchResult(0, ())
            events = self._pending(session, partitions)
            published, error = self._publish(events)
            self._mark(session, events, published, error)
        return self._finish(events, published, error, partitions)

    def _batch_with_lease(self) -> BatchResult:
        with self.app.sessionmaker() as session, session.begin():
            wanted = claims.pending_partitions(session, self.batch_size)
            partitions = claims.lease_partitions(
                session, self.name, self.lease_seconds, wanted, self.max_partitions
            )
        if not partitions:
            return BatchResult(0, ())
        with self.app.sessionmaker() as session, session.begin():
            events = self._pending(session, partitions)
        published, error = self._publish(events)
        with self.app.sessionmaker() as session, session.begin():
            if not claims.still_leased(session, self.name, partitions):
                log.warning(
                    "relay %s: the lease on partitions %s ran out while publishing; another relay may "
                    "publish some events again (consumers ignore repeats)",
                    self.name,
                    partitions,
                )
            self._mark(session, events, published, error)
        return self._finish(events, published, error, partitions)

    def release(self) -> None:
        """Give up this relay's leases (SQLite) so another relay can take over at once."""
        if not self.uses_row_locks and self._ready:
            with self.app.sessionmaker() as session, session.begin():
                claims.release_leases(session, self.name)

    def republish_lost(self, *, force: bool = False) -> list[int]:
        """Re-publish the events the broker lost (published ``republish_after`` ago, never
        processed), when a look is due (or ``force``); return their ids."""
        if not force and time.monotonic() < self._next_repair:
            return []
        self._next_repair = time.monotonic() + self._repair_every
        return repair.republish_stalled(self.app, self.publisher, after=self.republish_after)

    # -- loops --------------------------------------------------------------------------------------------
    def run_until_empty(self) -> int:
        """Publish batches until nothing is pending for this relay, then re-publish lost events;
        return how many events were published (the first time)."""
        total = 0
        try:
            while True:
                result = self.run_once()
                total += result.published
                if result.published < self.batch_size:
                    self.republish_lost(force=True)
                    return total
        finally:
            self.release()

    def run_forever(
        self,
        stop: threading.Event,
        *,
        idle_seconds: float = 0.5,
        max_backoff: float = 30.0,
        on_batch=None,
    ) -> int:
        """Relay until ``stop`` is set: full batches back to back, a pause of ``idle_seconds`` when idle, and a
        growing pause (up to ``max_backoff``) while the broker or the database fails."""
        total, failures = 0, 0
        try:
            while not stop.is_set():
                try:
                    result = self.run_once()
                    self.republish_lost()
                except Exception as exc:  # keep relaying through broker and database outages
                    failures += 1
                    pause = min(max_backoff, idle_seconds * 2**failures)
                    log.error("relay %s: %s; retrying in %.1f s", self.name, exc, pause)
                    stop.wait(pause)
                    continue
                failures = 0
                total += result.published
                if on_batch is not None and result.published:
                    on_batch(result)
                if result.published < self.batch_size:
                    stop.wait(idle_seconds)
        finally:
            self.release()
        return total


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed (for tools and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
