"""A plugin for the worker tests: each ``scale_probe_event`` leaves one audit row (its visible effect)."""

import time

from crmcore.workers import on_event

EVENT = "scale_probe_event"
OUTBOX_EVENTS = {
    EVENT: "a probe: leaves one audit row",
    "scale_other_event": "another probe",
    "scale_unhandled_event": "a probe no handler listens to",
}


@on_event(EVENT)
def leave_an_effect(uow, event):
    if event.payload.get("fail"):
        raise RuntimeError(f"probe refuses event {event.id}")
    uow.audit(
        "probe-effect",
        "event",
        entity_id=event.id,
        customer_id=event.customer_id,
        changes={"seq": event.payload.get("seq")},
    )
    uow.session.flush()
    pause = event.payload.get("sleep_ms", 0)
    if pause:
        time.sleep(
            pause / 1000
        )  # a slow hook, so a worker can be killed in the middle of the batch


@on_event("scale_other_event")
def count_other(uow, event):
    uow.audit("probe-other", "event", entity_id=event.id, customer_id=event.customer_id)
