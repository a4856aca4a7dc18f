"""Handling one delivered event: idempotent by event id, in order per customer, in a unit of work of its own.

- Idempotent: the event's id is inserted into ``outbox_processed_events`` first, in the same transaction as
  every ``crm_async_event`` implementation's writes. A repeated delivery finds it and changes nothing; two
  workers handling the same event at once cannot both commit (the second fails on the primary key and is
  rolled back).
- In order per customer: an event waits (:class:`WaitForPredecessor`; the actor retries it shortly) until
  the customer's previous outbox event has been processed or recorded as failed.
- Pruned: the outbox keeps processed events for a while only; a repeat that comes after its event
  was pruned finds no outbox row and changes nothing.
- Failures: an exception rolls the unit back and is raised for the broker to retry; on the last attempt the
  event is recorded as ``failed`` with the error, so the customer's next events can proceed.
"""

from __future__ import annotations

import logging
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain.dates import utcnow
from ..errors import CRMError
from ..outbox.event import Event
from ..outbox.models import ProcessedEvent
from ..storage.models import OutboxEvent

log = logging.getLogger("crmcore.workers")

DONE, DUPLICATE, FAILED, PRUNED = "done", "duplicate", "failed", "pruned"


class WaitForPredecessor(CRMError):
    def __init__(self, event: Event, predecessor_id: int):
        self.event_id = event.id
        self.predecessor_id = predecessor_id
        super().__init__(
            f"event {event.id} of customer {event.customer_id} waits for the customer's earlier "
            f"event {predecessor_id}"
        )


def pending_predecessor(session, event: Event) -> Optional[int]:
    """The customer's previous outbox event if it has not been processed yet, else None."""
    if event.customer_id is None:
        return None
    row = session.execute(
        select(OutboxEvent.id, ProcessedEvent.event_id)
        .outerjoin(ProcessedEvent, ProcessedEvent.event_id == OutboxEvent.id)
        .where(OutboxEvent.customer_id == event.customer_id, OutboxEvent.id < event.id)
        .order_by(OutboxEvent.id.desc())
        .limit(1)
    ).first()
    if row is None or row[1] is not None:
        return None
    return row[0]


def is_processed(app, event_id: int) -> bool:
    with app.sessionmaker() as session:
        return session.get(ProcessedEvent, event_id) is not None


def handle_event(
    app, event: Event, *, worker: str, attempt: int = 1, final_attempt: bool = False
) -> str:
    """Handle ``event`` once in effect; return ``done``, ``duplicate`` (already handled),
    ``pruned`` (a late repeat of an event processed and pruned since, see
    :mod:`crmcore.outbox.repair`) or ``failed``.

    :raises WaitForPredecessor: the customer's previous event is not processed yet (retry shortly).
    :raises Exception: what a hook raised, unless ``final_attempt`` (then the failure is recorded).
    """
    try:
        with app.unit_of_work(actor=f"worker:{worker}") as uow:
            session = uow.session
            if session.get(ProcessedEvent, event.id) is not None:
                return DUPLICATE
            if session.scalar(select(OutboxEvent.id).where(OutboxEvent.id == event.id)) is None:
                return PRUNED  # only processed events are pruned
            waiting_for = pending_predecessor(session, event)
            if waiting_for is not None:
                raise WaitForPredecessor(event, waiting_for)
            # claim the event before running the hooks: a concurrent handler of it blocks or fails here
            session.add(
                ProcessedEvent(
                    event_id=event.id,
                    event=event.name,
                    customer_id=event.customer_id,
                    outcome=DONE,
                    attempts=attempt,
                    processed_at=utcnow(),
                    worker=worker,
                )
            )
            session.flush()
            uow.call("crm_async_event", event=event)
        return DONE
    except WaitForPredecessor:
        raise
    except IntegrityError:
        if is_processed(app, event.id):
            return DUPLICATE  # another worker handled it at the same moment and committed first
        if not final_attempt:
            raise
        return _record_failure(app, event, worker, attempt)
    except Exception:
        if not final_attempt:
            raise
        return _record_failure(app, event, worker, attempt)


def _record_failure(app, event: Event, worker: str, attempt: int) -> str:
    import sys

    exc = sys.exc_info()[1]
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.error("event %s (%s) failed after %d attempts: %s", event.id, event.name, attempt, error)
    try:
        with app.unit_of_work(actor=f"worker:{worker}") as uow:
            if uow.session.get(ProcessedEvent, event.id) is not None:
                return DUPLICATE
            uow.session.add(
                ProcessedEvent(
                    event_id=event.id,
                    event=event.name,
                    customer_id=event.customer_id,
                    outcome=FAILED,
                    error=error,
                    attempts=attempt,
                    processed_at=utcnow(),
                    worker=worker,
                )
            )
    except IntegrityError:
        return DUPLICATE
    return FAILED
