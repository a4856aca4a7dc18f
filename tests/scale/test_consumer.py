"""Handling delivered events: once in effect, in order per customer, failures recorded; the on_event marker."""

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from crmcore.errors import ValidationError
from crmcore.outbox.event import Event
from crmcore.outbox.models import ProcessedEvent
from crmcore.outbox.status import outbox_status
from crmcore.storage.models import AuditEntry, OutboxEvent
from crmcore.workers.consumer import DONE, DUPLICATE, FAILED, WaitForPredecessor, handle_event

AT = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)


def emit(app, customer_id, name="scale_probe_event", **data):
    with app.unit_of_work() as uow:
        uow.emit(name, customer_id=customer_id, data=data)
    with app.sessionmaker() as s:
        row = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).one()
        return Event.from_row(row)


def effects(app, action="probe-effect"):
    with app.sessionmaker() as s:
        return [
            int(e)
            for e in s.scalars(
                select(AuditEntry.entity_id)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.id)
            )
        ]


def processed(app):
    with app.sessionmaker() as s:
        return {p.event_id: (p.outcome, p.attempts) for p in s.scalars(select(ProcessedEvent))}


def test_an_event_is_handled_once_however_often_it_is_delivered(probe_app):
    event = emit(probe_app, 7, seq=1)
    assert handle_event(probe_app, event, worker="w1") == DONE
    assert handle_event(probe_app, event, worker="w2") == DUPLICATE
    assert handle_event(probe_app, Event.from_message(event.to_message()), worker="w3") == DUPLICATE
    assert effects(probe_app) == [event.id]
    assert processed(probe_app) == {event.id: ("done", 1)}


def test_a_customers_next_event_waits_until_the_previous_one_is_processed(probe_app):
    first = emit(probe_app, 7, seq=1)
    other_customer = emit(probe_app, 8, seq=1)
    second = emit(probe_app, 7, seq=2)
    with pytest.raises(
        WaitForPredecessor,
        match=f"event {second.id} of customer 7 waits for the customer's earlier event {first.id}",
    ):
        handle_event(probe_app, second, worker="w")
    assert (
        effects(probe_app) == [] and processed(probe_app) == {}
    )  # nothing of the refused attempt is kept
    assert (
        handle_event(probe_app, other_customer, worker="w") == DONE
    )  # other customers are not held up
    assert handle_event(probe_app, first, worker="w") == DONE
    assert handle_event(probe_app, second, worker="w") == DONE
    assert effects(probe_app) == [other_customer.id, first.id, second.id]


def test_a_failing_hook_rolls_back_and_after_the_last_attempt_is_recorded_as_failed(probe_app):
    bad = emit(probe_app, 7, fail=True)
    after = emit(probe_app, 7, seq=2)
    with pytest.raises(Exception, match=f"probe refuses event {bad.id}"):
        handle_event(probe_app, bad, worker="w", attempt=1)
    assert processed(probe_app) == {}
    assert handle_event(probe_app, bad, worker="w", attempt=5, final_attempt=True) == FAILED
    assert handle_event(probe_app, after, worker="w") == DONE  # the customer's next event proceeds
    assert processed(probe_app) == {bad.id: ("failed", 5), after.id: ("done", 1)}
    status = outbox_status(probe_app)
    assert status["failed"] == 1 and status["processed"] == 1
    failure = status["recent_failures"][0]
    assert failure["event_id"] == bad.id and failure["attempts"] == 5
    assert "scale_probe" in failure["error"] and f"probe refuses event {bad.id}" in failure["error"]
    assert handle_event(probe_app, bad, worker="w", attempt=6, final_attempt=True) == DUPLICATE


def test_on_event_handlers_receive_only_their_events(probe_app):
    probe_event = emit(probe_app, None, seq=1)
    other = emit(probe_app, None, name="scale_other_event")
    unrelated = emit(probe_app, None, name="scale_unhandled_event")  # no async handler
    for event in (probe_event, other, unrelated):
        assert handle_event(probe_app, event, worker="w") == DONE
    assert effects(probe_app) == [probe_event.id]
    assert effects(probe_app, "probe-other") == [other.id]
    assert set(processed(probe_app)) == {probe_event.id, other.id, unrelated.id}


def test_concurrent_deliveries_of_one_event_leave_one_effect(probe_app, crm_app_factory):
    event = emit(
        probe_app, 7, seq=1, sleep_ms=200
    )  # the first handler is still inside its transaction
    other_app = crm_app_factory(plugins=[], extra_plugins=probe_app._extra)
    outcomes = []

    def deliver(app, name):
        outcomes.append(handle_event(app, event, worker=name))

    threads = [
        threading.Thread(target=deliver, args=(a, n))
        for a, n in ((probe_app, "a"), (other_app, "b"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == [DONE, DUPLICATE]
    assert effects(probe_app) == [event.id]


def test_a_message_that_is_not_an_outbox_event_is_refused_clearly():
    with pytest.raises(ValidationError, match="not an outbox event message"):
        Event.from_message({"hello": 1})
    with pytest.raises(
        ValidationError, match="outbox event 3: created_at 'yesterday' is not an ISO 8601"
    ):
        Event.from_message({"id": 3, "event": "x", "created_at": "yesterday"})
    event = Event(id=3, name="x", customer_id=None, payload={"a": "۱"}, created_at=AT)
    assert Event.from_message(event.to_message()) == event
