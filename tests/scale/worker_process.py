"""A worker process for the multi-worker tests: ``crm worker`` with the probe plugin registered.

usage: python worker_process.py DATABASE_URL BROKER_URL QUEUE NAMESPACE THREADS
"""
import importlib.util
import logging
import signal
import sys
import threading
from pathlib import Path

from crmcore.app import CRM
from crmcore.workers.broker import BrokerSettings
from crmcore.workers.runner import run_worker


def main(url: str, broker_url: str, queue: str, namespace: str, threads: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    spec = importlib.util.spec_from_file_location("crm_scale_probe", Path(__file__).with_name("probe.py"))
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    app = CRM(url, plugins=[], extra_plugins=[("scale_probe", probe, None)])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = BrokerSettings(url=broker_url, queue=queue, namespace=namespace, heartbeat_ms=1500,
                              maintenance_chance=1_000_000)
    run_worker(app, settings, stop, threads=int(threads), shutdown_timeout_ms=10_000)


if __name__ == "__main__":
    main(*sys.argv[1:])
