"""A worker process for the multi-worker tests: ``crm worker`` with test plugins registered.

usage: python worker_process.py DATABASE_URL BROKER_URL QUEUE NAMESPACE THREADS [PLUGIN_FILES]

PLUGIN_FILES: comma-separated module files next to this one (default ``probe.py``); ``x.py`` is registered as
plugin ``scale_x`` (module ``crm_scale_x``).
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


def load_plugin(filename: str):
    stem = Path(filename).stem
    spec = importlib.util.spec_from_file_location(
        f"crm_scale_{stem}", Path(__file__).with_name(filename)
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return (f"scale_{stem}", module, None)


def main(
    url: str, broker_url: str, queue: str, namespace: str, threads: str, plugins: str = "probe.py"
) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pika").setLevel(logging.WARNING)
    app = CRM(url, plugins=[], extra_plugins=[load_plugin(f) for f in plugins.split(",")])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = BrokerSettings(
        url=broker_url,
        queue=queue,
        namespace=namespace,
        heartbeat_ms=1500,
        maintenance_chance=1_000_000,
    )
    run_worker(app, settings, stop, threads=int(threads), shutdown_timeout_ms=10_000)


if __name__ == "__main__":
    main(*sys.argv[1:])
