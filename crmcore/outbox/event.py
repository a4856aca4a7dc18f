"""The event as it travels from the outbox through the broker to a worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import attrs

from ..errors import ValidationError


@attrs.frozen
class Event:
    """One outbox row: ``name`` is the hook that announced it (``crm_customer_created``, ``loyalty_points_earned``…),
    ``payload`` its JSON data, ``id`` its outbox id (the idempotency key of every consumer)."""

    id: int
    name: str
    customer_id: Optional[int]
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row) -> "Event":
        return cls(
            id=row.id,
            name=row.event,
            customer_id=row.customer_id,
            payload=row.payload or {},
            created_at=row.created_at,
        )

    def to_message(self) -> dict[str, Any]:
        """The JSON body of the broker message."""
        return {
            "id": self.id,
            "event": self.name,
            "customer_id": self.customer_id,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_message(cls, body: Any) -> "Event":
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("id"), int)
            or not body.get("event")
        ):
            raise ValidationError(
                f"not an outbox event message (expected id, event, customer_id, payload, "
                f"created_at): {str(body)[:200]}",
                field="message",
            )
        try:
            created_at = datetime.fromisoformat(body["created_at"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                f"outbox event {body['id']}: created_at {body.get('created_at')!r} is not an "
                "ISO 8601 moment",
                field="created_at",
            ) from None
        return cls(
            id=body["id"],
            name=str(body["event"]),
            customer_id=body.get("customer_id"),
            payload=body.get("payload") or {},
            created_at=created_at,
        )
