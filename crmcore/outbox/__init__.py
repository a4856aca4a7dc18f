"""Delivery of the outbox to a message broker.

Every domain event is written to the ``outbox`` table in the transaction that caused it (see
:mod:`crmcore.uow`). The relay (:mod:`crmcore.outbox.relay`, ``crm outbox relay``) reads unpublished rows in id
order, publishes them at least once to the broker (RabbitMQ or Redis through Dramatiq, see
:mod:`crmcore.workers.broker`) and marks them published. Events of one customer always fall in the same
*partition*; a relay publishes a partition in id order, and several relays never work on one partition at the
same time (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, a lease on SQLite), so each customer's events
reach the broker in order. Workers (:mod:`crmcore.workers`) consume them idempotently.
"""
