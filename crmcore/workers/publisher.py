"""The relay's publisher: one Dramatiq message per outbox event, for the workers' deliver actor.

On RabbitMQ a batch is published in one AMQP transaction (``tx.select`` … ``tx.commit``): the commit returns
only once the broker holds every message of the batch (one disk sync per batch instead of one confirm round
trip per message). If the connection is lost during the batch, none of it counts as published and the
relay publishes it again. On Redis each enqueue is an atomic script call that returns once stored.
"""

from __future__ import annotations

from typing import Sequence

from ..outbox.event import Event
from .broker import DELIVER_ACTOR, BrokerSettings, make_broker


class BatchLost(ConnectionError):
    pass


class DramatiqPublisher:
    """Enqueues events on the broker of ``settings``; ``publish``/``publish_batch`` return once the broker has
    the messages. ``close()`` when done."""

    def __init__(self, settings: BrokerSettings):
        self.settings = settings
        self.queue = settings.queue
        self.transactional = settings.kind == "rabbitmq"
        # RabbitMQ: no per-message confirms, the batches are transactions
        self.broker = make_broker(settings, confirm_delivery=False)
        self.broker.declare_queue(self.queue)

    def _message(self, event: Event):
        from dramatiq import Message

        return Message(
            queue_name=self.queue,
            actor_name=DELIVER_ACTOR,
            args=(event.to_message(),),
            kwargs={},
            options={},
        )

    def publish(self, event: Event) -> None:
        self.publish_batch([event])

    def publish_batch(self, events: Sequence[Event]) -> None:
        if not self.transactional:
            for event in events:
                self.broker.enqueue(self._message(event))
            return
        channel = self.broker.channel
        if not getattr(channel, "_crm_transactional", False):
            channel.tx_select()
            channel._crm_transactional = True
        for event in events:
            self.broker.enqueue(self._message(event))
        if (
            self.broker.channel is not channel
        ):  # dramatiq reconnected: the uncommitted part of the batch is gone
            raise BatchLost(
                "the connection to RabbitMQ was reset during the batch; it will be published again"
            )
        channel.tx_commit()

    def close(self) -> None:
        self.broker.close()
