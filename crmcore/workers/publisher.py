"""The relay's publisher: one Dramatiq message per outbox event, for the workers' deliver actor."""
from __future__ import annotations

from ..outbox.event import Event
from .broker import DELIVER_ACTOR, BrokerSettings


class DramatiqPublisher:
    """Enqueues events on the broker; ``publish`` returns once the broker confirmed the message."""

    def __init__(self, broker, settings: BrokerSettings):
        self.broker = broker
        self.queue = settings.queue
        broker.declare_queue(self.queue)

    def publish(self, event: Event) -> None:
        from dramatiq import Message

        self.broker.enqueue(Message(queue_name=self.queue, actor_name=DELIVER_ACTOR,
                                    args=(event.to_message(),), kwargs={}, options={}))
