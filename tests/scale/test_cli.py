"""`crm outbox status`, `crm outbox relay`, `crm worker` options; broker and pool settings."""

import pytest

from crmcore.errors import ValidationError
from crmcore.storage.postgres import pool_options_from_environment
from crmcore.testing import make_customer
from crmcore.workers.broker import BrokerSettings, make_broker, queue_counts


def test_status_shows_pending_events_and_json(crm_cli, crm_app):
    make_customer(crm_app, "مریم رضایی")
    make_customer(crm_app, "Ali Ahmadi")
    data = crm_cli("outbox", "status", "--json").json()
    assert (data["pending"], data["published"], data["processed"], data["failed"]) == (2, 0, 0, 0)
    assert data["oldest_pending_at"].startswith("2025-03-21T09:00")
    text = crm_cli("--calendar", "jalali", "outbox", "status").stdout
    assert "pending (not yet published):   2   oldest from 1404-01-01 12:30" in text


def test_relay_once_publishes_to_the_broker(crm_cli, crm_app, broker_settings):
    make_customer(crm_app, "سارا")
    env = {
        "CRM_BROKER_URL": broker_settings.url,
        "CRM_QUEUE": broker_settings.queue,
        "CRM_BROKER_NAMESPACE": broker_settings.namespace,
    }
    result = crm_cli("outbox", "relay", "--once", "--json", env=env)
    assert result.exit_code == 0, result
    assert result.json()["published"] == 1
    assert crm_cli("outbox", "status", "--json", env=env).json()["pending"] == 0
    status = crm_cli("outbox", "status", "--with-broker", env=env).stdout
    assert f"queue {broker_settings.queue}: 1 ready, 0 delayed, 0 dead-lettered" in status
    broker = make_broker(broker_settings)
    try:
        assert queue_counts(broker, broker_settings)["ready"] == 1
    finally:
        broker.close()


def test_an_unknown_broker_scheme_is_refused_clearly(crm_cli):
    result = crm_cli("worker", "--broker", "kafka://127.0.0.1:9092")
    assert result.exit_code == 1
    assert (
        "broker URL 'kafka://127.0.0.1:9092': unknown scheme 'kafka' (use amqp:// for RabbitMQ"
        in result.stderr
    )


def test_help_lists_the_worker_and_outbox_commands(crm_cli):
    text = crm_cli("--help").stdout
    assert "worker" in text and "outbox" in text
    assert "--with-relay" in crm_cli("worker", "--help").stdout


def test_broker_settings_hide_the_password_and_read_the_environment():
    s = BrokerSettings.from_environment(
        environ={"CRM_BROKER_URL": "amqp://crm:s3cret@mq.example:5672/crm", "CRM_QUEUE": "events"}
    )
    assert s.kind == "rabbitmq" and s.queue == "events"
    assert s.describe() == "rabbitmq amqp://mq.example:5672/crm queue events"
    r = BrokerSettings.from_environment(
        environ={
            "CRM_BROKER_URL": "redis://:pw@127.0.0.1:6379/2",
            "CRM_BROKER_HEARTBEAT_MS": "5000",
        }
    )
    assert (r.kind, r.heartbeat_ms, r.namespace) == ("redis", 5000, "crm")
    with pytest.raises(
        ValidationError, match="CRM_BROKER_HEARTBEAT_MS must be a number of milliseconds"
    ):
        BrokerSettings.from_environment(environ={"CRM_BROKER_HEARTBEAT_MS": "5s"})


def test_pool_settings_come_from_the_environment():
    assert pool_options_from_environment({}) == {}
    assert pool_options_from_environment(
        {"CRM_DB_POOL_SIZE": "20", "CRM_DB_POOL_RECYCLE": "1800"}
    ) == {"pool_size": 20, "pool_recycle": 1800}
    with pytest.raises(ValueError, match="CRM_DB_MAX_OVERFLOW must be a whole number, not 'many'"):
        pool_options_from_environment({"CRM_DB_MAX_OVERFLOW": "many"})
