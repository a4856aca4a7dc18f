"""Running a worker process (``crm worker``) and, optionally, a relay beside it."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Optional

from .actors import declare_deliver_actor, retries_middleware
from .broker import BrokerSettings, make_broker
from .jobs import declare_job_actor

log = logging.getLogger("crmcore.workers")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker(
    app,
    settings: BrokerSettings,
    stop: threading.Event,
    *,
    threads: int = 4,
    with_relay: bool = False,
    name: Optional[str] = None,
    shutdown_timeout_ms: int = 30_000,
) -> None:
    """Consume ``settings.queue`` (events) and ``settings.jobs_queue`` (scheduled jobs handed over by
    ``crm jobs run --via-workers``) with ``threads`` threads until ``stop`` is set, then finish the work in hand.

    With ``with_relay`` a relay thread publishes the outbox in the same process (small installations: one
    process does everything).
    """
    import dramatiq

    if threads < 1:
        raise ValueError("a worker needs at least one thread")
    name = name or worker_name()
    app.plugins.pm  # load the plugins before the threads start (and fail early on a broken plugin)
    broker = make_broker(settings, retries=retries_middleware())
    declare_deliver_actor(broker, settings.queue, app, name)
    declare_job_actor(broker, settings.jobs_queue, app, name)
    worker = dramatiq.Worker(
        broker,
        queues={settings.queue, settings.jobs_queue},
        worker_threads=threads,
        worker_timeout=250,
    )
    relay_thread = None
    worker.start()
    log.info(
        "worker %s: %d threads on %s (and jobs queue %s)",
        name,
        threads,
        settings.describe(),
        settings.jobs_queue,
    )
    try:
        if with_relay:
            relay_thread = threading.Thread(
                target=_relay, args=(app, settings, stop), name="crm-relay", daemon=True
            )
            relay_thread.start()
        stop.wait()
    finally:
        log.info("worker %s: stopping, finishing the events and jobs in hand", name)
        stop.set()
        if relay_thread is not None:
            relay_thread.join(timeout=shutdown_timeout_ms / 1000)
        worker.stop(timeout=shutdown_timeout_ms)
        broker.close()


def _relay(app, settings: BrokerSettings, stop: threading.Event) -> None:
    from ..outbox.relay import OutboxRelay
    from .publisher import DramatiqPublisher

    publisher = DramatiqPublisher(settings)
    try:
        OutboxRelay(app, publisher).run_forever(stop)
    finally:
        publisher.close()
