"""Scheduled jobs (``crm jobs run``): freeze campaigns whose entry window ended; draw those whose time came."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crmcore.api import Job

from .models import LotteryCampaign


def close_due(uow, now: datetime) -> dict:
    """Close every open campaign whose entry window has ended (its list is frozen and its hashes published)."""
    from .freeze import close_campaign

    closed, waiting = [], []
    for campaign in uow.session.scalars(
        select(LotteryCampaign)
        .where(LotteryCampaign.status == "open", LotteryCampaign.entry_end <= now)
        .order_by(LotteryCampaign.id)
        .with_for_update()
    ):
        if not campaign.prizes:  # closing would be refused: say so and let the others close
            waiting.append(f"{campaign.name}: no prizes yet")
            continue
        close_campaign(uow, campaign, now=now)
        closed.append(campaign.name)
    return {"closed": closed, **({"not_closed": waiting} if waiting else {})}


def draw_due(uow, now: datetime) -> dict:
    """Draw every closed campaign whose draw time has come and whose seed the CRM keeps (campaigns with an
    operator-kept seed wait for ``crm lottery draw --seed``)."""
    from .drawing import draw_campaign, earliest_draw

    drawn, waiting = [], []
    for campaign in uow.session.scalars(
        select(LotteryCampaign)
        .where(
            LotteryCampaign.status == "closed",
            LotteryCampaign.draw_at <= now,
            LotteryCampaign.seed.is_not(None),
        )
        .order_by(LotteryCampaign.id)
        .with_for_update()
    ):
        if now < earliest_draw(uow, campaign):  # the minimum gap after closing has not passed
            when = earliest_draw(uow, campaign).isoformat()
            waiting.append(f"{campaign.name}: not before {when}")
            continue
        result = draw_campaign(uow, campaign, now=now)
        drawn.append({"campaign": campaign.name, "awarded": result["awarded"]})
    return {"drawn": drawn, **({"waiting": waiting} if waiting else {})}


JOBS = [
    Job(
        "lottery.close_due",
        "Freeze the entry lists of campaigns whose entry window has ended.",
        close_due,
    ),
    Job(
        "lottery.draw_due",
        "Draw closed campaigns whose draw time has come (seed kept by the CRM).",
        draw_due,
    ),
]
