"""The message broker: RabbitMQ (default) or Redis, through Dramatiq.

Settings come from the command line or the environment: ``CRM_BROKER_URL`` (``amqp://user:pass@host:5672/vhost``
or ``redis://host:6379/0``; default ``amqp://guest:guest@127.0.0.1:5672/%2F``), ``CRM_QUEUE`` (default
``crm_events``; scheduled jobs handed to the workers use ``<queue>.jobs`` beside it), and for Redis
``CRM_BROKER_NAMESPACE`` (key prefix, default ``crm``) and ``CRM_BROKER_HEARTBEAT_MS`` (after how long without
a heartbeat a dead worker's messages are handed to another worker, default 60000).
"""

from __future__ import annotations

import os
from typing import Optional

import attrs

from ..errors import ValidationError

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_QUEUE = "crm_events"
DELIVER_ACTOR = "crm_deliver_event"
RABBITMQ_SCHEMES = ("amqp", "amqps")
REDIS_SCHEMES = ("redis", "rediss", "unix")


@attrs.frozen
class BrokerSettings:
    url: str = DEFAULT_BROKER_URL
    queue: str = DEFAULT_QUEUE
    #: Redis only: prefix of every key (one namespace per CRM when several share a Redis)
    namespace: str = "crm"
    #: Redis only: milliseconds without a heartbeat after which a worker counts as dead and its messages return
    heartbeat_ms: int = 60_000
    #: Redis only: how many broker calls in a million run the maintenance that returns dead workers' messages
    maintenance_chance: int = 1000

    @property
    def jobs_queue(self) -> str:
        """The queue of the scheduled jobs handed to the workers (``crm jobs run --via-workers``)."""
        return f"{self.queue}.jobs"

    @property
    def kind(self) -> str:
        scheme = self.url.split(":", 1)[0].lower()
        if scheme in RABBITMQ_SCHEMES:
            return "rabbitmq"
        if scheme in REDIS_SCHEMES:
            return "redis"
        raise ValidationError(
            f"broker URL {self.url!r}: unknown scheme {scheme!r} (use amqp:// for RabbitMQ "
            "or redis:// for Redis)",
            field="broker",
        )

    @classmethod
    def from_environment(
        cls, url: Optional[str] = None, queue: Optional[str] = None, environ=os.environ
    ) -> "BrokerSettings":
        heartbeat = environ.get("CRM_BROKER_HEARTBEAT_MS", "").strip()
        if heartbeat and not heartbeat.isdigit():
            raise ValidationError(
                f"CRM_BROKER_HEARTBEAT_MS must be a number of milliseconds, not {heartbeat!r}",
                field="CRM_BROKER_HEARTBEAT_MS",
            )
        settings = cls(
            url=url or environ.get("CRM_BROKER_URL") or DEFAULT_BROKER_URL,
            queue=queue or environ.get("CRM_QUEUE") or DEFAULT_QUEUE,
            namespace=environ.get("CRM_BROKER_NAMESPACE") or "crm",
            heartbeat_ms=int(heartbeat) if heartbeat else 60_000,
        )
        settings.kind  # validate the scheme now
        return settings

    def describe(self) -> str:
        """The broker without its password, for logs and status output."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{self.kind} {parts.scheme}://{host}{port}{parts.path or ''} queue {self.queue}"


def make_broker(settings: BrokerSettings, *, retries=None, confirm_delivery: bool = True):
    """A Dramatiq broker for ``settings`` with the middleware the workers rely on (current message, retries).

    ``confirm_delivery`` (RabbitMQ): each enqueue waits for the broker's confirmation (the workers' retries);
    the relay's publisher turns it off and commits each batch as a transaction instead.
    """
    from dramatiq.middleware import (
        AgeLimit,
        Callbacks,
        CurrentMessage,
        Pipelines,
        Retries,
        ShutdownNotifications,
        TimeLimit,
    )

    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        retries or Retries(),
        CurrentMessage(),
    ]
    if settings.kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(
            url=settings.url, confirm_delivery=confirm_delivery, middleware=middleware
        )
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(
        url=settings.url,
        namespace=settings.namespace,
        heartbeat_timeout=settings.heartbeat_ms,
        maintenance_chance=settings.maintenance_chance,
        middleware=middleware,
    )


def queue_counts(broker, settings: BrokerSettings, queue: Optional[str] = None) -> dict[str, int]:
    """Messages waiting in the queue (default: the events queue), in its delay queue (retries, order waits)
    and dead-lettered."""
    q = queue or settings.queue
    if settings.kind == "rabbitmq":
        ready, delayed, dead = broker.get_queue_message_counts(q)
        return {"ready": ready, "delayed": delayed, "dead": dead}
    client, ns = broker.client, settings.namespace
    return {
        "ready": client.llen(f"{ns}:{q}"),
        "delayed": client.llen(f"{ns}:{q}.DQ"),
        "dead": client.zcard(f"{ns}:{q}.XQ"),
    }


def delete_queue(broker, settings: BrokerSettings) -> None:
    """Remove the events and jobs queues, their delay and dead-letter queues and (Redis) every key of the
    namespace."""
    if settings.kind == "rabbitmq":
        from dramatiq.common import dq_name, xq_name

        for queue in (settings.queue, settings.jobs_queue):
            for name in (queue, dq_name(queue), xq_name(queue)):
                broker.channel.queue_delete(name)
        return
    keys = list(broker.client.scan_iter(match=f"{settings.namespace}:*", count=1000))
    if keys:
        broker.client.delete(*keys)
