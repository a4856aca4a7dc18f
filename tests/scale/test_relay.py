"""The outbox relay: order, marking, broker refusals, several relays (row locks on PostgreSQL, leases on SQLite)."""

import threading
from collections import defaultdict

import pytest
from sqlalchemy import select

from crmcore.outbox import claims
from crmcore.outbox.models import RelayPartition
from crmcore.outbox.relay import OutboxRelay, RelayPublishError
from crmcore.outbox.status import outbox_status
from crmcore.storage.models import OutboxEvent


class Recorder:
    """A publisher that keeps what it was given; refuses the event ids in ``refuse``."""

    def __init__(self, refuse=()):
        self.events = []
        self.refuse = set(refuse)
        self.lock = threading.Lock()

    def publish(self, event):
        if event.id in self.refuse:
            raise ConnectionError("broker went away")
        with self.lock:
            self.events.append(event)


@pytest.fixture
def crm_app(probe_app):
    """The relay tests emit the probe plugin's declared outbox-only events."""
    return probe_app


def emit_many(app, customers, per_customer, name="scale_probe_event"):
    with app.unit_of_work() as uow:
        for seq in range(per_customer):
            for c in customers:
                uow.emit(name, customer_id=c, data={"seq": seq})


def outbox_rows(app):
    with app.sessionmaker() as s:
        return s.execute(
            select(OutboxEvent.id, OutboxEvent.published_at, OutboxEvent.attempts).order_by(
                OutboxEvent.id
            )
        ).all()


def test_relay_publishes_pending_events_in_id_order_and_marks_them(crm_app):
    emit_many(crm_app, [1, 2, 17, None], 3)
    recorder = Recorder()
    relay = OutboxRelay(crm_app, recorder, batch_size=5)
    assert relay.run_until_empty() == 12
    assert [e.id for e in recorder.events] == list(range(1, 13))
    assert recorder.events[0].name == "scale_probe_event" and recorder.events[0].payload == {
        "seq": 0
    }
    assert all(
        published is not None and attempts == 1 for _, published, attempts in outbox_rows(crm_app)
    )
    assert relay.run_until_empty() == 0 and len(recorder.events) == 12
    status = outbox_status(crm_app)
    assert (status["pending"], status["published"], status["awaiting_workers"]) == (0, 12, 12)
    with crm_app.sessionmaker() as s:  # customers 1 and 17 share a partition (17 % 16 == 1)
        last = dict(
            s.execute(select(RelayPartition.partition_no, RelayPartition.last_event_id)).all()
        )
    assert last[1] == 11 and last[2] == 10 and last[0] == 12


def test_a_refused_event_stays_pending_and_those_before_it_are_published(crm_app):
    emit_many(crm_app, [1], 5)
    relay = OutboxRelay(crm_app, Recorder(refuse={3}))
    with pytest.raises(
        RelayPublishError,
        match=r"refused outbox event 3 \(ConnectionError: broker went away\); "
        r"2 events before it were published",
    ):
        relay.run_until_empty()
    rows = outbox_rows(crm_app)
    assert [(i, p is not None, a) for i, p, a in rows] == [
        (1, True, 1),
        (2, True, 1),
        (3, False, 1),
        (4, False, 0),
        (5, False, 0),
    ]
    assert outbox_status(crm_app)["pending"] == 3
    again = Recorder()
    assert OutboxRelay(crm_app, again).run_until_empty() == 3
    assert [e.id for e in again.events] == [3, 4, 5]


def test_two_relays_at_once_publish_each_event_once_and_each_customer_in_order(
    crm_app, crm_app_factory
):
    emit_many(crm_app, list(range(1, 41)), 10)
    recorder = Recorder()
    relays = [
        OutboxRelay(crm_app_factory(), recorder, batch_size=7, max_partitions=5) for _ in range(2)
    ]
    errors = []

    def run(relay):
        try:
            for _ in range(200):
                relay.run_once()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            relay.release()

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    ids = [e.id for e in recorder.events]
    assert sorted(ids) == list(range(1, 401))
    by_customer = defaultdict(list)
    for e in recorder.events:
        by_customer[e.customer_id].append(e.id)
    assert all(seq == sorted(seq) for seq in by_customer.values())


def test_on_sqlite_a_partition_leased_by_one_relay_waits_for_it(
    crm_app, crm_app_factory, crm_backend
):
    if crm_backend != "sqlite":
        pytest.skip("leases are the SQLite mechanism; PostgreSQL uses row locks (next tests)")
    emit_many(crm_app, [1, 2], 2)  # ids 1 (customer 1), 2 (customer 2), 3 (1), 4 (2)
    first = OutboxRelay(crm_app, Recorder(), batch_size=1)
    assert first.run_once().published == 1  # event 1; keeps the lease on customer 1's partition
    second_recorder = Recorder()
    second = OutboxRelay(crm_app_factory(), second_recorder)
    assert second.run_until_empty() == 2
    assert [e.id for e in second_recorder.events] == [
        2,
        4,
    ]  # customer 1's event 3 waits for the lease
    assert [lease["partitions"] for lease in outbox_status(crm_app)["relay_leases"]] == [1]
    first.release()
    assert second.run_until_empty() == 1
    assert [e.id for e in second_recorder.events] == [2, 4, 3]
    assert outbox_status(crm_app)["relay_leases"] == []


def test_on_sqlite_an_expired_lease_is_taken_over(crm_app, crm_app_factory, crm_backend):
    if crm_backend != "sqlite":
        pytest.skip("leases are the SQLite mechanism")
    emit_many(crm_app, [1], 3)
    dead = OutboxRelay(
        crm_app, Recorder(), batch_size=1, lease_seconds=-1
    )  # its lease is over at once
    assert dead.run_once().published == 1
    assert OutboxRelay(crm_app_factory(), Recorder()).run_until_empty() == 2


def test_on_postgresql_partitions_locked_by_another_relay_are_skipped(
    crm_app, crm_app_factory, crm_backend
):
    if crm_backend != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE SKIP LOCKED) are the PostgreSQL mechanism")
    emit_many(crm_app, [1, 2], 2)  # partitions 1 and 2
    OutboxRelay(crm_app, Recorder(), batch_size=1)._ensure_partitions()
    recorder = Recorder()
    other = crm_app_factory()
    with other.sessionmaker() as busy, busy.begin():
        assert claims.lock_free_partitions(busy, [1, 0]) == [
            1,
            0,
        ]  # "another relay" works on 1 and 0
        assert OutboxRelay(crm_app, recorder).run_until_empty() == 2
        assert {e.customer_id for e in recorder.events} == {2}
    assert OutboxRelay(crm_app, recorder).run_until_empty() == 2
    assert [e.customer_id for e in recorder.events] == [2, 2, 1, 1]


class BatchRecorder(Recorder):
    """A publisher with all-or-nothing batches (as the RabbitMQ transaction)."""

    def publish_batch(self, events):
        if any(e.id in self.refuse for e in events):
            raise ConnectionError("connection reset during the batch")
        self.events.extend(events)


def test_a_lost_batch_is_not_marked_and_is_published_again(crm_app):
    emit_many(crm_app, [1, 2], 3)
    with pytest.raises(
        RelayPublishError, match=r"refused outbox event 1 .*0 events before it were published"
    ):
        OutboxRelay(crm_app, BatchRecorder(refuse={4})).run_until_empty()
    assert [(p is None, a) for _, p, a in outbox_rows(crm_app)] == [(True, 1)] + [(True, 0)] * 5
    again = BatchRecorder()
    assert OutboxRelay(crm_app, again, batch_size=4).run_until_empty() == 6
    assert [e.id for e in again.events] == [1, 2, 3, 4, 5, 6]
