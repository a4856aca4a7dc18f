"""Per-period limits on transfers sent and received, counted in the policy's calendar.

Pending and completed transfers use the allowance of the period they were requested in; declined, cancelled,
expired and reversed ones give it back. The caller holds the locks of both members' loyalty accounts, so no
concurrent transfer of theirs can slip in between the count and the write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from crmcore.api import ValidationError

from .models import COUNTED_STATUSES, Transfer
from .periods import period_of
from .policy import Limit, Policy


def used(uow, customer_id: int, direction: str, start: datetime, end: datetime) -> tuple[int, int]:
    """``(count, points)`` of the member's counted transfers sent or received in ``[start, end)``."""
    party = Transfer.sender_id if direction == "sent" else Transfer.recipient_id
    count, points = uow.session.execute(
        select(func.count(), func.coalesce(func.sum(Transfer.points), 0)).where(
            party == customer_id,
            Transfer.status.in_(COUNTED_STATUSES),
            Transfer.created_at >= start,
            Transfer.created_at < end,
        )
    ).one()
    return int(count), int(points)


def allowance(
    uow, policy: Policy, calendar: str, customer_id: int, now: datetime
) -> list[dict[str, Any]]:
    """Each limit of the policy for this member now: the period, what is used and what is left."""
    out = []
    for limit in policy.limits:
        period = period_of(now, limit.period, calendar, uow.app.timezone)
        count, points = used(uow, customer_id, limit.direction, period.start, period.end)
        out.append(
            {
                "limit": limit.describe(calendar),
                "period": limit.period,
                "direction": limit.direction,
                "label": period.label,
                "from": period.start.isoformat(),
                "until": period.end.isoformat(),
                "count": count,
                "points": points,
                "max_count": limit.max_count,
                "max_points": limit.max_points,
                "count_left": None if limit.max_count is None else max(limit.max_count - count, 0),
                "points_left": None
                if limit.max_points is None
                else max(limit.max_points - points, 0),
            }
        )
    return out


def _refuse(
    limit: Limit, calendar: str, label: str, who: str, what: str, used_: int, left: int, asked: str
):
    left_text = f"{left:,} left" if left else "nothing left"
    raise ValidationError(
        f"{who} over the limit of {limit.describe(calendar)} ({label}): {used_:,} {what} used, "
        f"{left_text}; cannot {asked}",
        field="points",
    )


def check_limits(
    uow,
    policy: Policy,
    calendar: str,
    sender_id: int,
    recipient_id: int,
    points: int,
    now: datetime,
) -> None:
    """Refuse a transfer that would pass any limit, naming the limit and what is left."""
    for limit in policy.limits:
        party = sender_id if limit.direction == "sent" else recipient_id
        period = period_of(now, limit.period, calendar, uow.app.timezone)
        count, total = used(uow, party, limit.direction, period.start, period.end)
        who = (
            "this transfer is" if limit.direction == "sent" else f"customer {recipient_id} would be"
        )
        verb = "send" if limit.direction == "sent" else "receive"
        if limit.max_count is not None and count + 1 > limit.max_count:
            noun = "transfer" if count == 1 else "transfers"
            _refuse(
                limit,
                calendar,
                period.label,
                who,
                noun,
                count,
                max(limit.max_count - count, 0),
                f"{verb} another",
            )
        if limit.max_points is not None and total + points > limit.max_points:
            _refuse(
                limit,
                calendar,
                period.label,
                who,
                "points",
                total,
                max(limit.max_points - total, 0),
                f"{verb} {points:,}",
            )
