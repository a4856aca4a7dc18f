"""Fixtures of the scale tests: the probe plugin, and a broker (RabbitMQ, Redis) with a queue of its own."""

import importlib.util
import os
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crmcore.workers.broker import BrokerSettings, delete_queue, make_broker

BROKER_URLS = {
    "rabbitmq": os.environ.get("CRM_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    "redis": os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}


def _load_probe(filename: str = "probe.py"):
    """A module file of this directory, as ``worker_process.py`` loads it (``x.py`` → ``crm_scale_x``)."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"crm_scale_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROBE = _load_probe()
JOBS_PROBE = _load_probe("jobs_probe.py")


@pytest.fixture
def probe_app(crm_app_factory):
    """A CRM with the probe plugin (its after-commit hooks leave audit rows)."""
    return crm_app_factory(plugins=[], extra_plugins=[("scale_probe", PROBE, None)])


@pytest.fixture
def jobs_app(crm_app_factory):
    """A CRM with the jobs probe plugin (jobs ``probe.tally``, ``probe.slow``, ``probe.broken``, ``probe.refuses``)."""
    return crm_app_factory(plugins=[], extra_plugins=[("scale_jobs_probe", JOBS_PROBE, None)])


@pytest.fixture
def jobs_cli(crm_cli, crm_app_factory, monkeypatch):
    """``crm_cli`` whose CRM has the jobs probe plugin registered (as ``worker_process.py … jobs_probe.py``)."""
    from crmcore.cli.context import CLIState

    def app(self):
        if self._app is None:  # clock=None: the command reads CRM_NOW like a real `crm`
            self._app = crm_app_factory(
                plugins=[],
                extra_plugins=[("scale_jobs_probe", JOBS_PROBE, None)],
                clock=None,
                calendar=self.calendar,
                timezone=self.timezone,
            )
        return self._app

    monkeypatch.setattr(CLIState, "app", property(app))
    return crm_cli


def broker_unreachable(url: str) -> str | None:
    parts = urlsplit(url)
    host, port = (
        parts.hostname or "127.0.0.1",
        parts.port or (5672 if parts.scheme.startswith("amqp") else 6379),
    )
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        return f"{parts.scheme} broker not reachable at {host}:{port} ({exc}); start it or set CRM_TEST_*_URL"
    return None


def settings_for(kind: str) -> BrokerSettings:
    url = BROKER_URLS[kind]
    reason = broker_unreachable(url)
    if reason:
        pytest.skip(reason)
    token = f"crm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return BrokerSettings(
        url=url, queue=token, namespace=token, heartbeat_ms=1500, maintenance_chance=1_000_000
    )


@pytest.fixture(params=["rabbitmq", "redis"])
def broker_settings(request):
    """Settings for a real broker with a queue (and Redis namespace) used by this test only, deleted after."""
    settings = settings_for(request.param)
    yield settings
    broker = make_broker(settings)
    try:
        delete_queue(broker, settings)
    finally:
        broker.close()
