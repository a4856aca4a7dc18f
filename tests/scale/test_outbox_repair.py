"""Outbox repair: events the broker lost are published again (the relay after a delay, or `crm
outbox republish`), so a customer's later events stop waiting for them; processed events are pruned
after the retention (`crm outbox prune`, the job outbox.prune), and a late repeat of a pruned event
changes nothing."""

import threading
from datetime import timedelta

from sqlalchemy import select

from crmcore.domain.dates import utcnow
from crmcore.jobs import run_jobs
from crmcore.outbox import repair
from crmcore.outbox.relay import OutboxRelay, wait_until
from crmcore.storage.models import OutboxEvent
from crmcore.workers.broker import make_broker, queue_counts
from crmcore.workers.consumer import DONE, PRUNED, WaitForPredecessor, handle_event
from crmcore.workers.publisher import DramatiqPublisher

from .test_consumer import effects, emit, processed
from .test_multiworker import logs_of, start_workers
from .test_relay import Recorder


class Lossy:
    """A publisher whose broker 'loses' the first message of each event id in ``lose`` (accepts,
    drops)."""

    def __init__(self, inner, lose=()):
        self.inner = inner
        self.lose = set(lose)
        self.lost = []

    def publish_batch(self, events):
        kept = []
        for event in events:
            if event.id in self.lose:
                self.lose.discard(event.id)
                self.lost.append(event.id)
            else:
                kept.append(event)
        if kept:
            self.inner.publish_batch(kept)


def published_ids(recorder):
    return [e.id for e in recorder.events]


def test_only_the_oldest_unprocessed_event_of_a_customer_is_republished_after_the_delay(probe_app):
    first, other, second = (
        emit(probe_app, 7, seq=1),
        emit(probe_app, 8, seq=1),
        emit(probe_app, 7, seq=2),
    )
    loose = emit(probe_app, None, seq=3)
    recorder = Recorder()
    relay = OutboxRelay(probe_app, recorder, republish_after=timedelta(minutes=10))
    assert relay.run_until_empty() == 4
    assert published_ids(recorder) == [first.id, other.id, second.id, loose.id]
    assert handle_event(probe_app, other, worker="w") == DONE
    try:  # `first` was lost by the broker: `second` waits for it
        handle_event(probe_app, second, worker="w")
        raise AssertionError("the second event should wait for the first")
    except WaitForPredecessor:
        pass

    assert (
        repair.republish_stalled(probe_app, recorder, after=timedelta(minutes=10)) == []
    )  # too early
    later = utcnow() + timedelta(minutes=11)
    assert repair.republish_stalled(
        probe_app, recorder, after=timedelta(minutes=10), now=later
    ) == [first.id, loose.id]
    assert published_ids(recorder)[4:] == [first.id, loose.id]
    with probe_app.sessionmaker() as s:
        attempts = dict(s.execute(select(OutboxEvent.id, OutboxEvent.attempts)).all())
    assert attempts == {first.id: 2, other.id: 1, second.id: 1, loose.id: 2}
    # stamped anew: the delay counts from the repeat
    assert (
        repair.republish_stalled(
            probe_app, recorder, after=timedelta(minutes=10), now=utcnow() + timedelta(minutes=9)
        )
        == []
    )

    for event in (first, second, loose):
        assert handle_event(probe_app, event, worker="w") == DONE
    assert effects(probe_app) == [other.id, first.id, second.id, loose.id]
    much_later = utcnow() + timedelta(days=1)
    assert (
        repair.republish_stalled(probe_app, recorder, after=timedelta(minutes=10), now=much_later)
        == []
    )


def test_a_message_the_broker_lost_is_delivered_after_the_delay_and_the_next_ones_follow(
    probe_app, broker_settings, tmp_path
):
    events = [emit(probe_app, 5, seq=n) for n in range(4)] + [emit(probe_app, 6, seq=0)]
    workers = start_workers(probe_app, broker_settings, tmp_path, 1)
    publisher = Lossy(DramatiqPublisher(broker_settings), lose=[events[0].id])
    relay = OutboxRelay(probe_app, publisher, republish_after=timedelta(seconds=2))
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop,), kwargs={"idle_seconds": 0.1})
    thread.start()
    try:
        assert wait_until(lambda: events[4].id in processed(probe_app), timeout=30), logs_of(
            workers
        )
        assert publisher.lost == [events[0].id]
        assert events[1].id not in processed(probe_app)  # waits behind the lost one
        assert wait_until(lambda: len(processed(probe_app)) == 5, timeout=30), logs_of(workers)
    finally:
        stop.set()
        thread.join(timeout=30)
        publisher.inner.close()
        for proc, _ in workers:
            proc.terminate()
            proc.wait(timeout=60)
    assert sorted(effects(probe_app)) == [e.id for e in events]  # each once
    customer_5 = [e for e in effects(probe_app) if e != events[4].id]
    assert customer_5 == [e.id for e in events[:4]]  # in order
    broker = make_broker(broker_settings)
    try:
        assert queue_counts(broker, broker_settings)["dead"] == 0
    finally:
        broker.close()


def test_republish_command_by_event_id_and_since(crm_cli, probe_app, broker_settings):
    done, lost, pending = (
        emit(probe_app, 1, seq=1),
        emit(probe_app, 2, seq=1),
        emit(probe_app, 3, seq=1),
    )
    with probe_app.sessionmaker() as s, s.begin():
        s.execute(
            OutboxEvent.__table__.update()
            .where(OutboxEvent.id.in_([done.id, lost.id]))
            .values(published_at=utcnow())
        )
    assert handle_event(probe_app, done, worker="w") == DONE
    env = {
        "CRM_BROKER_URL": broker_settings.url,
        "CRM_QUEUE": broker_settings.queue,
        "CRM_BROKER_NAMESPACE": broker_settings.namespace,
    }
    result = crm_cli(
        "outbox",
        "republish",
        "--event-id",
        str(done.id),
        "--event-id",
        str(lost.id),
        "--event-id",
        str(pending.id),
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result
    data = result.json()
    assert data["republished"] == [lost.id]
    assert data["skipped"] == [
        {"event_id": done.id, "reason": "already processed (done)"},
        {"event_id": pending.id, "reason": "not published yet: the relay publishes it"},
    ]
    text = crm_cli("outbox", "republish", "--since", "2025-03-21", env=env).stdout
    assert f"re-published 1 event to {broker_settings.describe()} (#{lost.id}…#{lost.id})" in text
    assert (
        crm_cli(
            "outbox", "republish", "--since", "2025-03-21", "--event-id", "1", env=env
        ).exit_code
        == 2
    )
    missing = crm_cli("outbox", "republish", "--event-id", "999", env=env)
    assert missing.exit_code == 1 and "no outbox event 999" in missing.stderr
    broker = make_broker(broker_settings)
    try:
        assert queue_counts(broker, broker_settings)["ready"] == 2
    finally:
        broker.close()


def old_and_new_events(app):
    """Two events 40 days old (one processed), one processed today; returns them."""
    old_done, old_open = emit(app, 1, seq=1), emit(app, 2, seq=1)
    app.clock.advance(days=40)
    new_done = emit(app, 1, seq=2)
    for event in (old_done, new_done):
        assert handle_event(app, event, worker="w") == DONE
    return old_done, old_open, new_done


def outbox_ids(app):
    with app.sessionmaker() as s:
        return list(s.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)))


def test_prune_deletes_processed_events_older_than_the_retention_and_a_late_repeat_is_ignored(
    probe_app,
):
    old_done, old_open, new_done = old_and_new_events(probe_app)
    assert repair.prune(probe_app, older_than=timedelta(days=30)) == 1
    assert outbox_ids(probe_app) == [old_open.id, new_done.id]
    assert set(processed(probe_app)) == {new_done.id}
    before = effects(probe_app)
    assert handle_event(probe_app, old_done, worker="w") == PRUNED
    assert effects(probe_app) == before
    assert repair.prune(probe_app, older_than=timedelta(days=30)) == 0


def test_the_jobs_prune_the_outbox_with_the_configured_retention(probe_app, monkeypatch):
    old_done, old_open, new_done = old_and_new_events(probe_app)
    monkeypatch.setenv("CRM_OUTBOX_RETENTION", "50d")
    assert run_jobs(probe_app, only=["outbox.prune"]) == [
        {"job": "outbox.prune", "ok": True, "summary": {"pruned": 0}}
    ]
    monkeypatch.delenv("CRM_OUTBOX_RETENTION")
    assert run_jobs(probe_app, only=["outbox.prune"])[0]["summary"] == {"pruned": 1}
    assert outbox_ids(probe_app) == [old_open.id, new_done.id]


def test_prune_command(crm_cli, crm_app, probe_app):
    probe_app.clock = crm_app.clock  # the CLI's "now" is crm_app's
    old_and_new_events(probe_app)  # the probe plugin declares the events
    result = crm_cli("outbox", "prune", "--older-than", "30d")
    assert result.exit_code == 0, result
    assert result.stdout.strip() == "pruned 1 processed outbox event older than 30d"
    assert crm_cli("outbox", "prune", "--json").json() == {
        "pruned": 0,
        "older_than_seconds": 30 * 86400,
    }
    bad = crm_cli("outbox", "prune", "--older-than", "soon")
    assert bad.exit_code == 1 and "'soon' is not a duration" in bad.stderr


def test_relay_once_republishes_what_was_published_longer_ago_than_the_option_says(
    crm_cli, probe_app, broker_settings
):
    lost = emit(probe_app, 4, seq=1)
    with probe_app.sessionmaker() as s, s.begin():
        s.execute(
            OutboxEvent.__table__.update()
            .where(OutboxEvent.id == lost.id)
            .values(published_at=utcnow() - timedelta(minutes=45), attempts=1)
        )
    env = {
        "CRM_BROKER_URL": broker_settings.url,
        "CRM_QUEUE": broker_settings.queue,
        "CRM_BROKER_NAMESPACE": broker_settings.namespace,
    }
    waiting = crm_cli("outbox", "relay", "--once", "--republish-after", "1h", "--json", env=env)
    assert waiting.exit_code == 0, waiting
    with probe_app.sessionmaker() as s:
        assert s.get(OutboxEvent, lost.id).attempts == 1  # not yet: 45 minutes < 1 hour
    done = crm_cli("outbox", "relay", "--once", "--republish-after", "30m", "--json", env=env)
    assert done.exit_code == 0 and done.json()["published"] == 0  # nothing new, one again
    with probe_app.sessionmaker() as s:
        assert s.get(OutboxEvent, lost.id).attempts == 2
    broker = make_broker(broker_settings)
    try:
        assert queue_counts(broker, broker_settings)["ready"] == 1
    finally:
        broker.close()
