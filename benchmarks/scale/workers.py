"""Worker throughput: outbox events handled per second with 1, 2 and 4 worker processes, next to the bare
broker (publish with confirms + consume with acks, no database) measured in the same run.

Run by hand (not in CI):
  .venv/bin/python benchmarks/scale/workers.py [--events 20000] [--customers 5000] [--threads 4]
      [--broker amqp://guest:guest@127.0.0.1:5672/%2F | redis://127.0.0.1:6379/0]
      [--db-url postgresql+psycopg://postgres@127.0.0.1:5432/test]   (a scratch schema is created and dropped;
                                                                    default: a temporary SQLite file)
Printed per worker count: time to emit the events (outbox writes), relay publish rate, end-to-end rate
(relay start → every event processed: one unit of work + one audit row per event), and the ratio to the bare
broker's consume rate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text

HERE = Path(__file__).resolve().parent


def bare_broker(settings, n: int, size: int, batch: int = 1000) -> tuple[float, float]:
    """Messages/s for publishing ``n`` messages of ``size`` bytes as the relay does (RabbitMQ: persistent, in
    transactions of ``batch``) and consuming them one by one with acks, through the client library alone."""
    body = b"x" * size
    if settings.kind == "rabbitmq":
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(settings.url))
        ch = conn.channel()
        q = f"bench_bare_{uuid.uuid4().hex[:8]}"
        ch.queue_declare(q, durable=True)
        ch.tx_select()
        t = time.perf_counter()
        for i in range(n):
            ch.basic_publish("", q, body, pika.BasicProperties(delivery_mode=2))
            if (i + 1) % batch == 0 or i + 1 == n:
                ch.tx_commit()
        publish = n / (time.perf_counter() - t)
        cch = conn.channel()  # acks on the transactional channel would wait for a commit
        cch.basic_qos(prefetch_count=8)
        got = 0
        t = time.perf_counter()
        for method, _props, _body in cch.consume(q, inactivity_timeout=5):
            if method is None:
                break
            cch.basic_ack(method.delivery_tag)
            got += 1
            if got == n:
                break
        consume = got / (time.perf_counter() - t)
        cch.cancel()
        ch.queue_delete(q)
        conn.close()
        return publish, consume
    import redis

    r = redis.Redis.from_url(settings.url)
    q = f"bench_bare_{uuid.uuid4().hex[:8]}"
    t = time.perf_counter()
    for _ in range(n):
        r.rpush(q, body)
    publish = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(
        n
    ):  # reliable-queue pattern: move to an in-progress list, then remove (the "ack")
        item = r.lmove(q, q + ".ack", "LEFT", "RIGHT")
        r.lrem(q + ".ack", 1, item)
    consume = n / (time.perf_counter() - t)
    r.delete(q, q + ".ack")
    return publish, consume


def processed(app) -> int:
    from crmcore.outbox.models import ProcessedEvent

    with app.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(ProcessedEvent))


def reset(app) -> None:
    with app.engine.begin() as conn:
        for table in ("outbox_processed_events", "outbox", "audit_log", "outbox_relay_partitions"):
            conn.execute(text(f"DELETE FROM {table}"))


def run_round(app, settings, workers: int, threads: int, events: int, customers: int) -> dict:
    from crmcore.outbox.relay import OutboxRelay, wait_until
    from crmcore.workers.broker import delete_queue, make_broker
    from crmcore.workers.publisher import DramatiqPublisher

    reset(app)
    t = time.perf_counter()
    with app.unit_of_work() as uow:
        for i in range(events):
            uow.emit(
                "bench_event", customer_id=1 + i % customers, data={"n": i, "note": "سفارش آنلاین"}
            )
    emit_s = time.perf_counter() - t
    procs, logs = [], []
    for w in range(workers):
        log = open(tempfile.mktemp(prefix=f"bench-worker{w}-", suffix=".log"), "w")
        logs.append(log.name)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "worker_process.py"),
                    app.url,
                    settings.url,
                    settings.queue,
                    settings.namespace,
                    str(threads),
                ],
                stdout=log,
                stderr=log,
            )
        )
    for p, log in zip(procs, logs):
        if (
            not wait_until(
                lambda: "threads on" in Path(log).read_text() or p.poll() is not None, 60
            )
            or p.poll()
        ):
            raise SystemExit(f"worker failed to start:\n{Path(log).read_text()}")
    broker = make_broker(settings)
    try:
        publisher = DramatiqPublisher(settings)
        relay = OutboxRelay(app, publisher, batch_size=1000)
        t = time.perf_counter()
        assert relay.run_until_empty() == events
        relay_s = time.perf_counter() - t
        done = wait_until(lambda: processed(app) >= events, timeout=1800, interval=0.2)
        total_s = time.perf_counter() - t
        if not done:
            raise SystemExit(f"only {processed(app)} of {events} processed")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=120)
        publisher.close()
        delete_queue(broker, settings)
        broker.close()
        for log in logs:
            os.unlink(log)
    return {
        "workers": workers,
        "emit_rate": events / emit_s,
        "relay_rate": events / relay_s,
        "end_to_end_rate": events / total_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--customers", type=int, default=5_000)
    ap.add_argument("--threads", type=int, default=4, help="threads per worker process")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument(
        "--broker",
        default=os.environ.get("CRM_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    )
    ap.add_argument(
        "--db-url", help="PostgreSQL URL; a scratch schema is created in it and dropped afterwards"
    )
    args = ap.parse_args()

    from crmcore.app import CRM
    from crmcore.testing.database import PostgresSchemas, migrate_all
    from crmcore.workers.broker import BrokerSettings

    token = f"bench_{uuid.uuid4().hex[:8]}"
    settings = BrokerSettings(url=args.broker, queue=token, namespace=token)
    schemas = None
    if args.db_url:
        schemas = PostgresSchemas(args.db_url)
        url = schemas.url
    else:
        tmp = tempfile.mkdtemp()
        url = f"sqlite:///{tmp}/bench.db"
        migrate_all(url)
    app = CRM(url, plugins=[])
    try:
        print(
            f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; database "
            f"{app.engine.dialect.name}; {settings.describe()}"
        )
        print(
            f"{args.events} events over {args.customers} customers; {args.threads} threads per worker"
        )
        publish, consume = bare_broker(settings, args.events, 220)
        how = (
            "persistent, transactions of 1000"
            if settings.kind == "rabbitmq"
            else "RPUSH one by one"
        )
        print(
            f"bare broker (same run, client library only, no database): publish {publish:,.0f} msg/s "
            f"({how}), consume {consume:,.0f} msg/s (acked one by one)"
        )
        for workers in [int(w) for w in args.workers.split(",")]:
            r = run_round(app, settings, workers, args.threads, args.events, args.customers)
            print(
                f"{workers} worker(s): emit {r['emit_rate']:,.0f} events/s, relay {r['relay_rate']:,.0f} events/s "
                f"({r['relay_rate'] / publish:.2f}x bare publish), end-to-end {r['end_to_end_rate']:,.0f} "
                f"events/s ({r['end_to_end_rate'] / consume:.3f}x bare consume)",
                flush=True,
            )
    finally:
        app.dispose()
        if schemas is not None:
            schemas.close()


if __name__ == "__main__":
    main()
