"""Promotional campaigns: a segment (``--where`` clauses), a template, a schedule; preview, dry-run count, run."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import selectinload

from crmcore.api import Conflict, Customer, NotFound, ValidationError, where_conditions

from .models import Campaign, Message
from .outbox import queue_message, render_for
from .policy import check_channel, promotional_counts
from .service import _check_name, check_template_for
from .settings import frequency_cap, get_settings

CHUNK = 500


def active_customers():
    return and_(Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))


def reachable(channel: str):
    """Customers who opted in to ``channel`` and have somewhere to receive it."""
    if channel == "sms":
        return and_(Customer.consent_sms.is_(True), Customer.phones.any(kind="mobile"))
    return and_(Customer.consent_email.is_(True), Customer.emails.any())


def segment_ids(uow, where: list[str], *extra) -> list[int]:
    conditions = where_conditions(uow, list(where))
    return list(
        uow.session.scalars(
            select(Customer.id).where(active_customers(), *conditions, *extra).order_by(Customer.id)
        )
    )


def iter_customers(uow, ids: list[int]) -> Iterator[list[Customer]]:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        yield list(
            uow.session.scalars(
                select(Customer)
                .where(Customer.id.in_(chunk))
                .order_by(Customer.id)
                .options(
                    selectinload(Customer.phones),
                    selectinload(Customer.emails),
                    selectinload(Customer.tags),
                )
            )
        )


def create_campaign(
    uow, *, name: str, template: str, channel: str, where: list[str], at: datetime | None = None
) -> Campaign:
    name = _check_name(name, "campaign")
    check_channel(channel)
    check_template_for(uow, template, channel, "campaign")
    where_conditions(uow, list(where))
    if uow.session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise Conflict(f"a campaign named {name!r} exists", field="name")
    if at is not None and at < uow.now():
        raise ValidationError(
            "the schedule is in the past; leave it out to keep a draft and run it now", field="at"
        )
    row = Campaign(
        name=name,
        template=template,
        channel=channel,
        where=list(where),
        scheduled_at=at,
        status="scheduled" if at else "draft",
        created_at=uow.now(),
        summary={},
    )
    uow.session.add(row)
    uow.session.flush()
    uow.audit("create", "messaging_campaign", row.id, {"name": name, "where": list(where)})
    return row


def get_campaign(uow, name: str) -> Campaign:
    row = uow.session.scalar(select(Campaign).where(Campaign.name == name))
    if row is None:
        raise NotFound(f"no campaign named {name!r}", field="campaign")
    return row


def count_campaign(uow, campaign: Campaign) -> dict[str, int]:
    """Dry run: how many customers match, how many cannot be reached and why, how many would be sent."""
    return audience_counts(uow, campaign.where, campaign.channel, campaign_id=campaign.id)


def audience_counts(
    uow, where: list[str], channel: str, *, campaign_id: int | None = None
) -> dict[str, int]:
    """Who a campaign on ``where`` would reach on ``channel``: ``matching`` customers, those
    ``with_consent`` and without (``no_consent``), consenting ones with no number or address
    (``no_recipient``), those over the frequency cap, those the campaign already queued, and how
    many would be sent now (``would_send``)."""
    check_channel(channel)
    matching = segment_ids(uow, where)
    reach = set(segment_ids(uow, where, reachable(channel)))
    consent_col = Customer.consent_sms if channel == "sms" else Customer.consent_email
    no_consent = len(segment_ids(uow, where, consent_col.is_not(True)))
    settings = get_settings(uow)
    cap = frequency_cap(settings)
    counts = promotional_counts(uow, reach, uow.now(), settings)
    capped = sum(1 for cid in reach if cap and counts.get(cid, 0) >= cap[0])
    already = 0
    if campaign_id is not None:
        already = (
            uow.session.scalar(
                select(func.count()).select_from(Message).where(Message.campaign_id == campaign_id)
            )
            or 0
        )
    return {
        "matching": len(matching),
        "with_consent": len(matching) - no_consent,
        "no_consent": no_consent,
        "no_recipient": len(matching) - no_consent - len(reach),
        "frequency_capped": capped,
        "already_queued": already,
        "would_send": max(len(reach) - capped - already, 0),
    }


def preview_campaign(uow, campaign: Campaign, customer) -> dict[str, Any]:
    template, subject, body = render_for(
        uow, customer, campaign.template, campaign.channel, {"campaign": campaign.name}
    )
    return {
        "campaign": campaign.name,
        "customer_id": customer.id,
        "language": template.language,
        "subject": subject,
        "body": body,
    }


def run_campaign(uow, campaign: Campaign) -> dict[str, int]:
    """Queue the campaign's messages (idempotent per customer: a rerun adds only new members)."""
    if campaign.status == "cancelled":
        raise Conflict(f"campaign {campaign.name!r} was cancelled", field="campaign")
    ids = segment_ids(uow, campaign.where, reachable(campaign.channel))
    settings = get_settings(uow)
    totals = {"queued": 0, "skipped": 0, "failed": 0, "blocked": 0, "already": 0}
    for customers in iter_customers(uow, ids):
        known = set(
            uow.session.scalars(
                select(Message.customer_id).where(
                    Message.campaign_id == campaign.id,
                    Message.customer_id.in_([c.id for c in customers]),
                )
            )
        )
        caps = promotional_counts(uow, [c.id for c in customers], uow.now(), settings)
        for customer in customers:
            if customer.id in known:
                totals["already"] += 1
                continue
            msg = queue_message(
                uow,
                customer,
                template=campaign.template,
                channel=campaign.channel,
                trigger=f"campaign:{campaign.name}",
                key=f"campaign:{campaign.id}:c{customer.id}",
                extra={"campaign": campaign.name},
                promotional=True,
                campaign_id=campaign.id,
                cap_counts=caps,
                known_new=True,
            )
            totals[msg.status if msg.status in totals else "queued"] += 1
    campaign.status = "done"
    campaign.started_at = campaign.started_at or uow.now()
    campaign.summary = {
        k: campaign.summary.get(k, 0) + v for k, v in totals.items() if k != "already"
    } | {"already": totals["already"]}
    uow.audit("run", "messaging_campaign", campaign.id, totals)
    return totals


def cancel_campaign(uow, campaign: Campaign) -> int:
    """Stop a campaign: nothing more is queued, and its messages not yet sent are skipped."""
    if campaign.status == "cancelled":
        return 0
    result = uow.session.execute(
        update(Message)
        .where(Message.campaign_id == campaign.id, Message.status == "queued")
        .values(status="skipped", error="campaign cancelled")
    )
    campaign.status = "cancelled"
    uow.audit("cancel", "messaging_campaign", campaign.id, {"unsent": result.rowcount or 0})
    return result.rowcount or 0


def due_campaigns(uow, now: datetime) -> list[Campaign]:
    return list(
        uow.session.scalars(
            select(Campaign)
            .where(Campaign.status == "scheduled", Campaign.scheduled_at <= now)
            .order_by(Campaign.scheduled_at)
        )
    )


def campaign_to_dict(c: Campaign, *, stats: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "name": c.name,
        "channel": c.channel,
        "template": c.template,
        "where": list(c.where),
        "status": c.status,
        "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "summary": dict(c.summary or {}),
        **({"messages": stats} if stats is not None else {}),
    }


def campaign_stats(uow, campaign: Campaign) -> dict[str, int]:
    rows = uow.session.execute(
        select(Message.status, func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.status)
    )
    return {status: n for status, n in rows}
