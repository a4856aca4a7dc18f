"""A member's open lots summarised by the local day they expire: what a cashier or a member reads
("120 points expire on 1403/09/01") instead of one line per lot."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date

import attrs

from .models import LoyaltyLot


@attrs.frozen
class ExpiryDay:
    day: date | None  # None: never expires
    points: int
    lots: int


@attrs.frozen
class ExpirySummary:
    first: list[ExpiryDay]
    rest_points: int
    rest_lots: int


def expiry_summary(
    lots: list[LoyaltyLot], *, days: int = 3, tz: str = "Asia/Tehran"
) -> ExpirySummary:
    """The first ``days`` expiry days (soonest first, "never" last) and what comes after them."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    grouped: "OrderedDict[date | None, list[int]]" = OrderedDict()
    ordered = sorted(
        lots, key=lambda lot: (lot.expires_at is None, lot.expires_at or lot.earned_at)
    )
    for lot in ordered:
        day = lot.expires_at.astimezone(zone).date() if lot.expires_at else None
        grouped.setdefault(day, []).append(lot.remaining)
    items = [ExpiryDay(day, sum(points), len(points)) for day, points in grouped.items()]
    rest = items[days:]
    return ExpirySummary(items[:days], sum(i.points for i in rest), sum(i.lots for i in rest))


def balance_data(uow, customer) -> dict:
    """A member's balance as ``crm loyalty balance --json`` and the API give it."""
    from .ledger import balance, lots
    from .models import LoyaltyAccount

    account = uow.session.get(LoyaltyAccount, customer.id)
    return {
        "customer_id": customer.id,
        "name": customer.display_name,
        "balance": balance(uow, customer.id),
        "owed": account.owed if account else 0,
        "deficit": account.deficit if account else 0,
        "lots": [
            {
                "id": lot.id,
                "remaining": lot.remaining,
                "points": lot.points,
                "earned_at": lot.earned_at.isoformat(),
                "expires_at": lot.expires_at.isoformat() if lot.expires_at else None,
            }
            for lot in lots(uow, customer.id)
        ],
    }
