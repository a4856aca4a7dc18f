"""Events delivered after commit, in background workers (``crm worker``; see ``docs/performance.md``)."""

from __future__ import annotations

from . import hookspec


@hookspec
def crm_async_event(uow, event):
    """An outbox event, delivered by the broker to a worker after the transaction that caused it committed.

    Implement it for work that must not slow down or fail the command: calling external services, search
    indexing, heavy recomputation. Mark such functions with :func:`crmcore.workers.on_event` (``@on_event(
    "crm_customer_created")``) to receive only the events named; a plain ``@hookimpl def crm_async_event``
    receives every event.

    :param event: a :class:`crmcore.outbox.event.Event`: ``id`` (the outbox id, unique), ``name`` (the hook that
        announced it, e.g. ``crm_interaction_recorded``), ``customer_id``, ``payload`` (the JSON data written
        with the event) and ``created_at`` (UTC).
    :when: in a worker, in a unit of work of its own (write through ``uow.session``), once per event in effect:
        the event's id is recorded in the same transaction, so a repeated delivery changes nothing. A customer's
        events are handled in outbox order. Raising rolls the unit back and retries with back-off; after the
        last attempt the event is recorded as failed and the customer's next events proceed.
    """
