"""The after-commit hook the worker benchmark runs for each event: one audit row (a small, real write)."""

from crmcore.workers import on_event

EVENT = "bench_event"


@on_event(EVENT)
def record(uow, event):
    uow.audit("bench-effect", "event", entity_id=event.id, customer_id=event.customer_id)
