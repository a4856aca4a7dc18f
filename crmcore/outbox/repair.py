"""Repairing the outbox: re-publishing events the broker lost, and pruning what the workers are done
with.

Re-publishing: an event the relay marked published but no worker has processed (no row in
``outbox_processed_events``) after ``CRM_OUTBOX_REPUBLISH_AFTER`` (default 10 minutes, well under
the ≈20 minutes a customer's next event waits for it before it is dead-lettered, see
:mod:`crmcore.workers.actors`) was most likely lost by the broker. The relay publishes it again and
stamps ``published_at`` anew, so the delay counts from the last attempt. Only the oldest unprocessed
event of each customer is re-published automatically: the ones after it are waiting for it in the
broker and move on once it is processed. A repeat is harmless: workers handle an event once by its
id.

Pruning: outbox rows older than ``CRM_OUTBOX_RETENTION`` (default 30 days) whose event a worker has
processed (done or failed) are deleted with their ``outbox_processed_events`` row. A late repeat of
a pruned event finds no outbox row and is ignored (:func:`crmcore.workers.consumer.handle_event`).
Unpublished and unprocessed events are never pruned.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Iterable, Optional

import attrs
from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.orm import aliased

from ..domain.dates import parse_duration, utcnow
from ..errors import NotFound
from ..storage.models import OutboxEvent
from .event import Event
from .models import ProcessedEvent

log = logging.getLogger("crmcore.outbox.repair")

REPUBLISH_AFTER_ENV = "CRM_OUTBOX_REPUBLISH_AFTER"
DEFAULT_REPUBLISH_AFTER = timedelta(minutes=10)
RETENTION_ENV = "CRM_OUTBOX_RETENTION"
DEFAULT_RETENTION = timedelta(days=30)
BATCH = 500
PRUNE_BATCH = 5000


def _duration_from_environment(variable: str, default: timedelta, environ) -> timedelta:
    value = (environ.get(variable) or "").strip()
    return parse_duration(value, field=variable) if value else default


def republish_after_from_environment(environ=os.environ) -> timedelta:
    return _duration_from_environment(REPUBLISH_AFTER_ENV, DEFAULT_REPUBLISH_AFTER, environ)


def retention_from_environment(environ=os.environ) -> timedelta:
    return _duration_from_environment(RETENTION_ENV, DEFAULT_RETENTION, environ)


def _unprocessed(event):
    return ~exists(select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == event.id))


def _first_unprocessed_of_its_customer():
    earlier = aliased(OutboxEvent)
    return ~exists(
        select(earlier.id).where(
            earlier.customer_id == OutboxEvent.customer_id,
            earlier.id < OutboxEvent.id,
            _unprocessed(earlier),
        )
    )


def stalled_events(session, *, published_before: datetime, limit: int = BATCH) -> list[Event]:
    """Published before ``published_before``, not processed, and the oldest unprocessed event of
    their customer (events without a customer each stand alone), in id order."""
    query = (
        select(OutboxEvent)
        .where(
            OutboxEvent.published_at.is_not(None),
            OutboxEvent.published_at < published_before,
            _unprocessed(OutboxEvent),
            OutboxEvent.customer_id.is_(None) | _first_unprocessed_of_its_customer(),
        )
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return [Event.from_row(row) for row in session.scalars(query)]


@attrs.frozen
class Skipped:
    event_id: int
    reason: str


def chosen_events(session, event_ids: Iterable[int]) -> tuple[list[Event], list[Skipped]]:
    """``crm outbox republish --event-id``: these events if published and unprocessed; the others
    skipped with the reason. An id that is not in the outbox is refused."""
    ids = sorted(set(event_ids))
    rows = {r.id: r for r in session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"no outbox event {missing[0]} (pruned, or never written)", field="event-id")
    done = dict(
        session.execute(
            select(ProcessedEvent.event_id, ProcessedEvent.outcome).where(
                ProcessedEvent.event_id.in_(ids)
            )
        ).all()
    )
    events, skipped = [], []
    for i in ids:
        if i in done:
            skipped.append(Skipped(i, f"already processed ({done[i]})"))
        elif rows[i].published_at is None:
            skipped.append(Skipped(i, "not published yet: the relay publishes it"))
        else:
            events.append(Event.from_row(rows[i]))
    return events, skipped


def events_since(session, since: datetime, limit: int = BATCH, after_id: int = 0) -> list[Event]:
    """``crm outbox republish --since``: every published, unprocessed event written since
    ``since``."""
    query = (
        select(OutboxEvent)
        .where(
            OutboxEvent.created_at >= since,
            OutboxEvent.id > after_id,
            OutboxEvent.published_at.is_not(None),
            _unprocessed(OutboxEvent),
        )
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return [Event.from_row(row) for row in session.scalars(query)]


def publish_again(app, publisher, events: list[Event]) -> int:
    """Hand ``events`` to the broker again (all or, on an error, none marked) and stamp them
    published now."""
    if not events:
        return 0
    publish_batch = getattr(publisher, "publish_batch", None)
    if publish_batch is not None:
        publish_batch(events)
    else:
        for event in events:
            publisher.publish(event)
    with app.sessionmaker() as session, session.begin():
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([e.id for e in events]))
            .values(published_at=utcnow(), attempts=OutboxEvent.attempts + 1)
        )
    log.info(
        "re-published %d events the workers had not processed (first #%d)",
        len(events),
        events[0].id,
    )
    return len(events)


def republish_stalled(
    app, publisher, *, after: timedelta, now: Optional[datetime] = None
) -> list[int]:
    """Re-publish every stalled event (see :func:`stalled_events`) published more than ``after``
    ago."""
    cutoff = (now or utcnow()) - after
    republished: list[int] = []
    while True:
        with app.sessionmaker() as session:
            events = stalled_events(session, published_before=cutoff)
        publish_again(app, publisher, events)  # stamps them: the next round does not see them again
        republished.extend(e.id for e in events)
        if len(events) < BATCH:
            return republished


def republish_since(app, publisher, since: datetime) -> list[int]:
    republished: list[int] = []
    while True:
        with app.sessionmaker() as session:
            events = events_since(session, since, after_id=republished[-1] if republished else 0)
        publish_again(app, publisher, events)
        republished.extend(e.id for e in events)
        if len(events) < BATCH:
            return republished


def prunable_ids(session, created_before: datetime, limit: int = PRUNE_BATCH) -> list[int]:
    processed = exists(
        select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == OutboxEvent.id)
    )
    return list(
        session.scalars(
            select(OutboxEvent.id)
            .where(and_(OutboxEvent.created_at < created_before, processed))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
    )


def prune_some(session, created_before: datetime, limit: int = PRUNE_BATCH) -> int:
    """Delete up to ``limit`` processed events written before ``created_before``; return how
    many."""
    ids = prunable_ids(session, created_before, limit)
    if ids:
        session.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id.in_(ids)))
        session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
    return len(ids)


def prune(app, *, older_than: timedelta, now: Optional[datetime] = None) -> int:
    """Prune in short transactions of :data:`PRUNE_BATCH` events (other writers get the database
    between them); return how many events were deleted."""
    cutoff = (now or app.now()) - older_than
    total = 0
    while True:
        with app.sessionmaker() as session, session.begin():
            done = prune_some(session, cutoff)
        total += done
        if done < PRUNE_BATCH:
            return total


def prune_job(uow, now: datetime) -> dict[str, int]:
    """The kernel's job ``outbox.prune`` (``crm jobs run``): prune with ``CRM_OUTBOX_RETENTION``."""
    cutoff = now - retention_from_environment()
    total = 0
    while True:
        done = prune_some(uow.session, cutoff)
        total += done
        if done < PRUNE_BATCH:
            return {"pruned": total}
