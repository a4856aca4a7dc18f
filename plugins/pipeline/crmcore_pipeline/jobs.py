"""Scheduled job: announce deals that went stale (no activity for N days), once per idle spell.

Each newly stale deal gets an outbox event ``pipeline_deal_stale`` (for webhooks and messaging) and, when the
``tasks`` plugin is enabled, a follow-up task for its owner (deduplicated per idle spell). Any activity on the
deal resets it, so it is announced again if it goes stale again. N is ``$CRM_PIPELINE_STALE_DAYS`` (14).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import select

from crmcore.api import Job, ValidationError

from .models import Deal

DEFAULT_STALE_DAYS = 14


def stale_days() -> int:
    raw = os.environ.get("CRM_PIPELINE_STALE_DAYS", str(DEFAULT_STALE_DAYS))
    try:
        days = int(raw)
    except ValueError:
        raise ValidationError(
            f"CRM_PIPELINE_STALE_DAYS must be a whole number of days, not {raw!r}",
            field="CRM_PIPELINE_STALE_DAYS",
        ) from None
    if days < 1:
        raise ValidationError(
            "CRM_PIPELINE_STALE_DAYS must be at least 1", field="CRM_PIPELINE_STALE_DAYS"
        )
    return days


def announce_stale_deals(uow, now: datetime) -> dict:
    days = stale_days()
    cutoff = now - timedelta(days=days)
    deals = uow.session.scalars(
        select(Deal)
        .where(
            Deal.status == "open", Deal.last_activity_at < cutoff, Deal.stale_notified_at.is_(None)
        )
        .order_by(Deal.id)
    ).all()
    tasks = 0
    with_tasks = uow.has_plugin("tasks")
    for deal in deals:
        idle = (now - deal.last_activity_at).days
        uow.emit(
            "pipeline_deal_stale",
            customer_id=deal.customer_id,
            data={
                "deal_id": deal.id,
                "title": deal.title,
                "stage": deal.stage.code,
                "idle_days": idle,
                "owner": deal.owner.username if deal.owner else None,
            },
        )
        if with_tasks:
            uow.call(
                "tasks_create_follow_up",
                customer_id=deal.customer_id,
                title=f"پیگیری معامله «{deal.title}» — {idle} روز بدون فعالیت",
                kind="follow_up",
                due_at=now,
                dedup_key=f"pipeline:stale:{deal.id}:{deal.last_activity_at.isoformat()}",
                source="pipeline",
                reference=f"deal:{deal.id}",
            )
            tasks += 1
        deal.stale_notified_at = now
    uow.session.flush()
    return {"stale_deals": len(deals), "days": days, "follow_up_tasks": tasks}


JOBS = [
    Job(
        "pipeline.stale_deals",
        "Announce open deals with no activity for N days (once per idle spell)",
        announce_stale_deals,
    )
]
