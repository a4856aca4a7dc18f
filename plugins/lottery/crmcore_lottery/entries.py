"""Entries: from purchases (per purchase and per amount spent, net of refunds), bought with loyalty points,
and from redeemed lottery cards. Every source event gives entries at most once (a unique key per campaign)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from crmcore.api import Conflict, Customer, Interaction, ValidationError, format_datetime

from .members import codes_of
from .models import LotteryCampaign, LotteryEntry


# -- the campaign accepts entries ---------------------------------------------------------------------------
def _when(uow, moment: datetime) -> str:
    return format_datetime(moment, uow.app.calendar, tz=uow.app.timezone)


def require_open(uow, campaign: LotteryCampaign) -> None:
    if campaign.status != "open":
        raise Conflict(
            f"entries of campaign {campaign.name!r} closed on {_when(uow, campaign.closed_at)}; "
            "its entry list is frozen",
            field="campaign",
        )


def require_open_now(uow, campaign: LotteryCampaign) -> datetime:
    """Entries given now (points, cards) need an open campaign inside its entry window."""
    require_open(uow, campaign)
    now = uow.now()
    if now < campaign.entry_start:
        raise ValidationError(
            f"entries of campaign {campaign.name!r} open on {_when(uow, campaign.entry_start)}",
            field="campaign",
        )
    if now >= campaign.entry_end:
        raise Conflict(
            f"entries of campaign {campaign.name!r} ended on {_when(uow, campaign.entry_end)}",
            field="campaign",
        )
    return now


def _active_customer(customer: Customer) -> None:
    if not customer.active:
        raise Conflict(
            f"customer {customer.id} is {'merged' if customer.merged_into_id else 'forgotten'}",
            field="customer",
        )


def _existing(uow, campaign_id: int, key: str) -> LotteryEntry | None:
    return uow.session.scalar(
        select(LotteryEntry).where(LotteryEntry.campaign_id == campaign_id, LotteryEntry.key == key)
    )


def _add(
    uow,
    campaign: LotteryCampaign,
    customer_id: int,
    *,
    source: str,
    weight: int,
    key: str,
    occurred_at: datetime,
    **extra: Any,
) -> LotteryEntry:
    entry = LotteryEntry(
        campaign_id=campaign.id,
        customer_id=customer_id,
        source=source,
        weight=weight,
        key=key,
        occurred_at=occurred_at,
        created_at=uow.now(),
        details=extra.pop("details", {}),
        **extra,
    )
    uow.session.add(entry)
    uow.session.flush()
    codes_of(uow, [customer_id])
    return entry


# -- purchases ----------------------------------------------------------------------------------------------
def purchase_weight(
    campaign: LotteryCampaign, amount_minor: int | None, currency: str | None, refunded: int = 0
) -> int:
    """Entries a purchase of ``amount_minor`` earns, as the README's formula says:
    ``per_purchase`` plus one per ``per_amount`` of its net amount (``amount - refunded``),
    per-amount only in the campaign's currency. A $0 purchase earns the per-purchase entries; a
    purchase refunded in full earns nothing."""
    amount = amount_minor or 0
    net = amount - (refunded or 0)
    if amount < 0 or (refunded and net <= 0):
        return 0
    weight = campaign.per_purchase
    if campaign.per_amount and currency == campaign.currency and net > 0:
        weight += net // campaign.per_amount
    return weight


def _open_campaigns(uow) -> list[LotteryCampaign]:
    cached = uow.cache.get("lottery.open")
    if cached is None:
        # FOR SHARE (PostgreSQL): a close running at the same time waits for this transaction, and this one
        # waits for a close already under way and then no longer sees the campaign as open
        cached = list(
            uow.session.scalars(
                select(LotteryCampaign)
                .where(
                    LotteryCampaign.status == "open",
                    (LotteryCampaign.per_purchase > 0) | LotteryCampaign.per_amount.is_not(None),
                )
                .with_for_update(read=True)
            )
        )
        uow.cache["lottery.open"] = cached
    return cached


def _refunded(uow, purchase_id: int) -> int:
    return int(
        uow.session.scalar(
            select(func.coalesce(func.sum(Interaction.amount_minor), 0)).where(
                Interaction.kind == "refund", Interaction.related_id == purchase_id
            )
        )
        or 0
    )


PENDING = "lottery.pending"


def on_purchase(uow, interaction: Interaction) -> None:
    """A purchase recorded live or imported: entries in every open campaign whose window holds it.

    The rows are queued and written together (one multi-row insert) before the transaction commits, or as
    soon as anything in it reads entries (:func:`drain`), so an import of thousands of purchases does not pay
    one insert per purchase."""
    for campaign in _open_campaigns(uow):
        if not campaign.entry_start <= interaction.occurred_at < campaign.entry_end:
            continue
        weight = purchase_weight(campaign, interaction.amount_minor, interaction.currency)
        if weight > 0:  # a new interaction id: no entry can have its key yet
            _pending(uow).append(
                {
                    "campaign_id": campaign.id,
                    "customer_id": interaction.customer_id,
                    "source": "purchase",
                    "weight": weight,
                    "key": f"purchase:{interaction.id}",
                    "interaction_id": interaction.id,
                    "occurred_at": interaction.occurred_at,
                    "created_at": uow.now(),
                    "details": {
                        "amount": str(interaction.amount_minor or 0),
                        "currency": interaction.currency,
                    },
                }
            )


def _pending(uow) -> list[dict[str, Any]]:
    pending = uow.cache.get(PENDING)
    if pending is None:
        from sqlalchemy import event

        pending = uow.cache[PENDING] = []
        event.listen(uow.session, "before_commit", lambda _session: drain(uow))
    return pending


def drain(uow) -> None:
    """Write the queued purchase entries of this unit of work now."""
    pending = uow.cache.get(PENDING)
    if pending:
        rows, pending[:] = list(pending), []
        for start in range(0, len(rows), 2000):
            uow.session.execute(insert(LotteryEntry), rows[start : start + 2000])
        codes_of(uow, {r["customer_id"] for r in rows})


def on_refund(uow, refund: Interaction) -> None:
    """A refund lowers the entries its purchase earned in campaigns still open (to the net amount)."""
    if refund.related_id is None:
        return
    drain(uow)
    entries = list(
        uow.session.scalars(
            select(LotteryEntry)
            .join(LotteryCampaign)
            .where(
                LotteryEntry.key == f"purchase:{refund.related_id}",
                LotteryCampaign.status == "open",
            )
        )
    )
    if not entries:
        return
    purchase = uow.session.get(Interaction, refund.related_id)
    refunded = _refunded(uow, purchase.id)
    net = (purchase.amount_minor or 0) - refunded
    for entry in entries:
        campaign = uow.session.get(LotteryCampaign, entry.campaign_id)
        new_weight = purchase_weight(campaign, purchase.amount_minor, purchase.currency, refunded)
        if new_weight != entry.weight:
            details = dict(entry.details or {})
            entry.details = {
                **details,
                "net_amount": str(net),
                "before_refunds": details.get("before_refunds", entry.weight),
            }
            entry.weight = new_weight


def collect_purchases(uow, campaign: LotteryCampaign) -> dict[str, int]:
    """Give entries for every purchase already recorded in the window (net of refunds) that has none yet.

    For campaigns over a past period ("all purchases of 1403") or purchases recorded before the campaign."""
    require_open(uow, campaign)
    drain(uow)
    if not (campaign.per_purchase or campaign.per_amount):
        raise ValidationError(
            f"campaign {campaign.name!r} gives no entries for purchases", field="campaign"
        )
    session = uow.session
    existing = set(
        session.scalars(
            select(LotteryEntry.key).where(
                LotteryEntry.campaign_id == campaign.id, LotteryEntry.source == "purchase"
            )
        )
    )
    refunds = (
        select(Interaction.related_id, func.sum(Interaction.amount_minor).label("refunded"))
        .where(Interaction.kind == "refund", Interaction.related_id.is_not(None))
        .group_by(Interaction.related_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Interaction.id,
            Interaction.customer_id,
            Interaction.amount_minor,
            Interaction.currency,
            Interaction.occurred_at,
            refunds.c.refunded,
        )
        .join(Customer, Customer.id == Interaction.customer_id)
        .outerjoin(refunds, refunds.c.related_id == Interaction.id)
        .where(
            Interaction.kind == "purchase",
            Interaction.occurred_at >= campaign.entry_start,
            Interaction.occurred_at < campaign.entry_end,
            Customer.merged_into_id.is_(None),
            Customer.forgotten_at.is_(None),
        )
        .order_by(Interaction.occurred_at, Interaction.id)
    )
    now = uow.now()
    new, purchases, skipped = [], 0, 0
    for iid, cid, amount, currency, occurred, refunded in rows:
        purchases += 1
        key = f"purchase:{iid}"
        if key in existing:
            continue
        net = None if amount is None else amount - int(refunded or 0)
        weight = purchase_weight(campaign, amount, currency, int(refunded or 0))
        if weight <= 0:
            skipped += 1
            continue
        details = {"amount": str(amount or 0), "currency": currency}
        if refunded:
            details["net_amount"] = str(net)
        new.append(
            {
                "campaign_id": campaign.id,
                "customer_id": cid,
                "source": "purchase",
                "weight": weight,
                "key": key,
                "interaction_id": iid,
                "occurred_at": occurred,
                "created_at": now,
                "details": details,
            }
        )
    for start in range(0, len(new), 2000):
        session.execute(insert(LotteryEntry), new[start : start + 2000])
    codes_of(uow, {r["customer_id"] for r in new})
    uow.audit(
        "collect_purchases",
        "lottery_campaign",
        campaign.id,
        {"purchases": purchases, "new": len(new)},
    )
    return {
        "purchases": purchases,
        "new_entries": len(new),
        "entries": sum(r["weight"] for r in new),
        "already_entered": purchases - len(new) - skipped,
        "earned_nothing": skipped,
    }


# -- points -------------------------------------------------------------------------------------------------
def buy_with_points(
    uow, campaign: LotteryCampaign, customer: Customer, count: int, *, key: str | None = None
) -> LotteryEntry:
    """Spend ``count × points_per_entry`` loyalty points for ``count`` entries.

    ``key`` makes a retry safe: the same key returns the entry bought the first time and spends nothing more.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError(
            f"the number of entries is a positive whole number, not {count!r}", field="entries"
        )
    if not campaign.points_per_entry:
        raise ValidationError(
            f"campaign {campaign.name!r} does not sell entries for points", field="points"
        )
    if not uow.has_plugin("loyalty"):
        raise ValidationError(
            "entries bought with points need the loyalty plugin, which is not enabled",
            field="points",
        )
    _active_customer(customer)
    entry_key = f"points:{key or uuid.uuid4().hex}"
    if len(entry_key) > 200:
        raise ValidationError("the idempotency key is longer than 190 characters", field="key")
    repeated = _existing(uow, campaign.id, entry_key)
    if repeated is not None:
        if repeated.customer_id != customer.id or repeated.weight != count:
            raise Conflict(
                f"the key {key!r} was already used for {repeated.weight} entries of customer "
                f"{repeated.customer_id}",
                field="key",
            )
        return repeated
    now = require_open_now(uow, campaign)
    from crmcore_loyalty import api as loyalty  # optional dependency: imported only on this path

    points = count * campaign.points_per_entry
    spent = loyalty.debit(
        uow,
        customer.id,
        points,
        kind="lottery",
        reason=f"{count} entries in lottery {campaign.name}",
        key=f"lottery:{campaign.id}:{entry_key}",
        ref=f"lottery:{campaign.name}",
        details={"campaign": campaign.name, "entries": count},
    )
    return _add(
        uow,
        campaign,
        customer.id,
        source="points",
        weight=count,
        key=entry_key,
        occurred_at=now,
        loyalty_entry_id=spent.id,
        details={"points": points},
    )


# -- cards --------------------------------------------------------------------------------------------------
def redeem_card(uow, campaign: LotteryCampaign, customer: Customer, code: str) -> LotteryEntry:
    """Redeem a lottery card for the customer: its batch's weight in entries; each card only once."""
    from .cards import find_card
    from .models import LotteryCardBatch

    _active_customer(customer)
    now = require_open_now(uow, campaign)
    card = find_card(uow, campaign, code)
    batch = uow.session.get(LotteryCardBatch, card.batch_id)
    entry = _add(
        uow,
        campaign,
        customer.id,
        source="card",
        weight=batch.weight,
        key=f"card:{card.id}",
        occurred_at=now,
        card_id=card.id,
        details={"card": f"…{card.hint}", "batch": batch.id},
    )
    card.redeemed_at = now
    card.customer_id = customer.id
    card.entry_id = entry.id
    return entry


# -- reading ------------------------------------------------------------------------------------------------
def participant_totals(
    uow, campaign: LotteryCampaign, customer_id: int | None = None
) -> list[dict[str, Any]]:
    """Entries per customer (by source), most entries first."""
    drain(uow)
    q = (
        select(LotteryEntry.customer_id, LotteryEntry.source, func.sum(LotteryEntry.weight))
        .where(LotteryEntry.campaign_id == campaign.id, LotteryEntry.weight > 0)
        .group_by(LotteryEntry.customer_id, LotteryEntry.source)
    )
    if customer_id is not None:
        q = q.where(LotteryEntry.customer_id == customer_id)
    people: dict[int, dict[str, Any]] = {}
    for cid, source, weight in uow.session.execute(q):
        row = people.setdefault(cid, {"customer_id": cid, "entries": 0, "by_source": {}})
        row["entries"] += int(weight)
        row["by_source"][source] = int(weight)
    names = (
        dict(
            uow.session.execute(
                select(Customer.id, Customer.display_name).where(Customer.id.in_(list(people)))
            ).all()
        )
        if people
        else {}
    )
    codes = codes_of(uow, list(people), create=False) if people else {}
    for cid, row in people.items():
        row["name"] = names.get(cid)
        row["lottery_code"] = codes.get(cid)
    return sorted(people.values(), key=lambda r: (-r["entries"], r["customer_id"]))


def entry_to_dict(entry: LotteryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "campaign_id": entry.campaign_id,
        "customer_id": entry.customer_id,
        "source": entry.source,
        "entries": entry.weight,
        "key": entry.key,
        "occurred_at": entry.occurred_at.isoformat(),
        "details": entry.details or {},
    }
