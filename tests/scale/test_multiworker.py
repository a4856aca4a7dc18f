"""Several worker processes on a real broker (RabbitMQ and Redis), one killed mid-batch, repeated deliveries:
every event is handled exactly once in effect, and each customer's events in order."""

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select

from crmcore.outbox.event import Event
from crmcore.outbox.models import ProcessedEvent
from crmcore.outbox.relay import OutboxRelay, wait_until
from crmcore.storage.models import AuditEntry, OutboxEvent
from crmcore.workers.broker import make_broker, queue_counts
from crmcore.workers.publisher import DramatiqPublisher

WORKER = Path(__file__).with_name("worker_process.py")
CUSTOMERS, PER_CUSTOMER = 24, 10
EVENTS = CUSTOMERS * PER_CUSTOMER


def processed_count(app) -> int:
    with app.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(ProcessedEvent))


def start_workers(app, settings, logs: Path, count: int):
    workers = []
    for n in range(count):
        log = open(logs / f"worker{n}.log", "w")
        proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                app.url,
                settings.url,
                settings.queue,
                settings.namespace,
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        workers.append((proc, logs / f"worker{n}.log"))
    for proc, log in workers:
        ready = wait_until(
            lambda: "threads on" in log.read_text() or proc.poll() is not None, timeout=60
        )
        assert ready and proc.poll() is None, f"worker did not start:\n{log.read_text()[-3000:]}"
    return workers


def logs_of(workers) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-2500:]}" for _, log in workers)


def test_several_workers_one_killed_mid_batch_handle_every_event_exactly_once(
    probe_app, broker_settings, tmp_path
):
    with probe_app.unit_of_work() as uow:
        for seq in range(PER_CUSTOMER):
            for customer in range(1, CUSTOMERS + 1):
                uow.emit(
                    "scale_probe_event", customer_id=customer, data={"seq": seq, "sleep_ms": 4}
                )
    workers = start_workers(probe_app, broker_settings, tmp_path, 3)
    broker = make_broker(broker_settings)
    publisher = DramatiqPublisher(broker_settings)
    try:
        assert OutboxRelay(probe_app, publisher, batch_size=100).run_until_empty() == EVENTS
        with (
            probe_app.sessionmaker() as s
        ):  # a relay that died before marking would publish these again
            for row in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id).limit(40)):
                publisher.publish(Event.from_row(row))

        assert wait_until(lambda: processed_count(probe_app) >= EVENTS // 3, timeout=90), logs_of(
            workers
        )
        victim, _ = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        at_kill = processed_count(probe_app)
        assert at_kill < EVENTS, "the batch was over before the kill; make the hooks slower"
        assert wait_until(
            lambda: processed_count(probe_app) == EVENTS, timeout=120, interval=0.2
        ), f"{processed_count(probe_app)} of {EVENTS} processed\n{logs_of(workers)}"
        time.sleep(0.5)  # let repeated deliveries still in flight arrive: they must change nothing
        for proc, _ in workers[1:]:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in workers[1:]:
            assert proc.wait(timeout=60) == 0, logs_of(workers)
        counts = queue_counts(broker, broker_settings)
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        broker.close()
        publisher.close()

    with probe_app.sessionmaker() as s:
        outcomes = dict(
            s.execute(
                select(ProcessedEvent.outcome, func.count()).group_by(ProcessedEvent.outcome)
            ).all()
        )
        by_worker = dict(
            s.execute(
                select(ProcessedEvent.worker, func.count()).group_by(ProcessedEvent.worker)
            ).all()
        )
        effects = s.execute(
            select(AuditEntry.entity_id, AuditEntry.customer_id, AuditEntry.changes)
            .where(AuditEntry.action == "probe-effect")
            .order_by(AuditEntry.id)
        ).all()
    assert outcomes == {"done": EVENTS}
    assert len(by_worker) == 3, f"every worker, the killed one too, handled events: {by_worker}"
    assert sorted(int(e.entity_id) for e in effects) == list(
        range(1, EVENTS + 1)
    )  # exactly once in effect
    sequence = defaultdict(list)
    for e in effects:
        sequence[e.customer_id].append(e.changes["seq"])
    assert all(seqs == list(range(PER_CUSTOMER)) for seqs in sequence.values()), dict(sequence)
    assert counts == {"ready": 0, "delayed": 0, "dead": 0}
