"""The ``loyalty.expiry`` job (``crm jobs run``): expire due lots, announce points expiring soon, expire vouchers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from crmcore.api import Customer, Job

from .accrual import local_day
from .ledger import entry_to_dict, expire_lots
from .models import LoyaltyLot
from .programs import active_program
from .rewards import expire_vouchers


def run_expiry(uow, now: datetime) -> dict[str, Any]:
    from .batch import drain

    drain(uow)
    program = active_program(uow)
    session = uow.session
    due: dict[int, list[LoyaltyLot]] = defaultdict(list)
    for lot in session.scalars(
        select(LoyaltyLot)
        .where(
            LoyaltyLot.remaining > 0,
            LoyaltyLot.expires_at.is_not(None),
            LoyaltyLot.expires_at <= now,
        )
        .order_by(LoyaltyLot.customer_id, LoyaltyLot.expires_at, LoyaltyLot.id)
    ):
        due[lot.customer_id].append(lot)
    expired_points = 0
    for customer_id in sorted(due):  # lock accounts in id order: no deadlock with other writers
        entry = expire_lots(uow, customer_id, due[customer_id], now, program)
        if entry is not None:
            expired_points -= entry.points
            uow.emit("loyalty_points_expired", customer_id=customer_id, data=entry_to_dict(entry))
    warned = 0
    if program.expiry_warning_days:
        horizon = now + timedelta(days=program.expiry_warning_days)
        soon: dict[tuple[int, Any], int] = defaultdict(int)
        lots = list(
            session.scalars(
                select(LoyaltyLot)
                .where(
                    LoyaltyLot.remaining > 0,
                    LoyaltyLot.warned_at.is_(None),
                    LoyaltyLot.expires_at.is_not(None),
                    LoyaltyLot.expires_at > now,
                    LoyaltyLot.expires_at <= horizon,
                )
                .order_by(LoyaltyLot.customer_id, LoyaltyLot.expires_at)
            )
        )
        for lot in lots:
            soon[(lot.customer_id, local_day(lot.expires_at, uow.app.timezone))] += lot.remaining
            lot.warned_at = now
        for (customer_id, day), points in soon.items():
            customer = session.get(Customer, customer_id)
            uow.emit(
                "loyalty_points_expiring",
                customer_id=customer_id,
                data={"points": points, "expires_on": day.isoformat()},
                customer=customer,
                points=points,
                expires_on=day,
            )
            warned += 1
    vouchers = expire_vouchers(uow, now)
    return {
        "members_expired": len(due),
        "points_expired": expired_points,
        "expiry_notices": warned,
        "vouchers_expired": vouchers,
    }


JOBS = [
    Job(
        name="loyalty.expiry",
        run=run_expiry,
        description="Expire due point lots, announce points expiring soon, expire out-of-date vouchers.",
    )
]
