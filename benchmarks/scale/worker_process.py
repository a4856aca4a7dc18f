"""One benchmark worker process: python worker_process.py DB_URL BROKER_URL QUEUE NAMESPACE THREADS"""

import importlib.util
import logging
import signal
import sys
import threading
from pathlib import Path

from crmcore.app import CRM
from crmcore.workers.broker import BrokerSettings
from crmcore.workers.runner import run_worker


def main(url, broker_url, queue, namespace, threads):
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("crmcore.workers").setLevel(logging.INFO)
    spec = importlib.util.spec_from_file_location(
        "bench_effect", Path(__file__).with_name("effect_plugin.py")
    )
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    app = CRM(url, plugins=[], extra_plugins=[("bench_effect", plugin, None)])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_worker(
        app,
        BrokerSettings(url=broker_url, queue=queue, namespace=namespace),
        stop,
        threads=int(threads),
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
