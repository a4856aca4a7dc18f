"""Marking hook implementations "after commit / async": they run in a worker, not in the command's transaction."""

from __future__ import annotations

import functools
from typing import Callable

from ..hooks import hookimpl


def on_event(*event_names: str) -> Callable:
    """Run the decorated function in a worker for each delivered event of these names.

    ::

        from crmcore.workers import on_event

        @on_event("crm_customer_created", "crm_customer_updated")
        def sync_to_mailing_list(uow, event):      # event: crmcore.outbox.event.Event
            push_contact(event.customer_id, event.payload)

    The function becomes an implementation of :func:`crmcore.hooks.async_events.crm_async_event` (any name;
    several per plugin module) that ignores other events. It runs after the event's transaction committed,
    in a unit of work of its own, at least once and in effect exactly once per event (a repeat delivery is
    skipped); raising retries it with back-off, and after the last attempt the event is recorded as failed
    (``crm outbox status``).
    """
    if not event_names or not all(isinstance(n, str) and n for n in event_names):
        raise ValueError(
            "on_event needs the names of the events to handle, e.g. on_event('crm_customer_created')"
        )
    wanted = frozenset(event_names)

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def handler(uow, event):
            if event.name in wanted:
                return fn(uow, event)
            return None

        handler.crm_async_events = wanted
        return hookimpl(specname="crm_async_event")(handler)

    return decorate
