"""What the outbox, the relays and the workers are doing (``crm outbox status``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..domain.dates import utcnow
from ..storage.models import OutboxEvent
from .models import ProcessedEvent, RelayPartition


def outbox_status(app, *, recent_failures: int = 5) -> dict[str, Any]:
    """Counts and moments of the outbox pipeline: pending → published → processed (done or failed)."""
    with app.sessionmaker() as session:
        pending, oldest_pending = session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(
                OutboxEvent.published_at.is_(None)
            )
        ).one()
        total = session.scalar(select(func.count()).select_from(OutboxEvent))
        outcomes = dict(
            session.execute(
                select(ProcessedEvent.outcome, func.count()).group_by(ProcessedEvent.outcome)
            ).all()
        )
        last_published = session.scalar(select(func.max(RelayPartition.last_published_at)))
        now = utcnow()
        leases = session.execute(
            select(RelayPartition.holder, func.count(), func.max(RelayPartition.lease_until))
            .where(RelayPartition.holder.is_not(None), RelayPartition.lease_until >= now)
            .group_by(RelayPartition.holder)
        ).all()
        failures = session.scalars(
            select(ProcessedEvent)
            .where(ProcessedEvent.outcome == "failed")
            .order_by(ProcessedEvent.event_id.desc())
            .limit(recent_failures)
        ).all()
        published = total - pending
        handled = outcomes.get("done", 0) + outcomes.get("failed", 0)
        return {
            "pending": pending,
            "oldest_pending_at": oldest_pending,
            "published": published,
            "last_published_at": last_published,
            "processed": outcomes.get("done", 0),
            "failed": outcomes.get("failed", 0),
            # published events no worker has finished yet (in the broker, waiting, or being handled)
            "awaiting_workers": max(0, published - handled),
            "relay_leases": [
                {"relay": h, "partitions": n, "until": until} for h, n, until in leases
            ],
            "recent_failures": [
                {
                    "event_id": f.event_id,
                    "event": f.event,
                    "customer_id": f.customer_id,
                    "error": f.error,
                    "attempts": f.attempts,
                    "at": f.processed_at,
                    "worker": f.worker,
                }
                for f in failures
            ],
        }
