"""Background workers: outbox events delivered through a message broker to ``crm_async_event`` hooks.

The relay (:mod:`crmcore.outbox`) publishes each outbox event to the broker (RabbitMQ, or Redis, through
Dramatiq); ``crm worker`` processes run Dramatiq workers whose actor (:mod:`crmcore.workers.actors`) hands each
event to :func:`crmcore.workers.consumer.handle_event`: in its own unit of work, after the transaction that
caused the event committed, idempotent by event id (``outbox_processed_events``) and in order per customer.
Plugins mark a hook implementation "after commit / async" with :func:`on_event`.
"""

from .markers import on_event  # noqa: F401
