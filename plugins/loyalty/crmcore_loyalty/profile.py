"""The loyalty part of the customer profile, and the ``points`` search field (``--where
points>=500``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from crmcore.api import Customer, SearchField, ValidationError, compare, to_ascii_digits, ui

from .ledger import balance, entry_to_dict, ledger, lots
from .models import LoyaltyAccount
from .programs import active_program

#: the ledger's entry kinds as a member reads them
KIND_LABELS = {
    "earn": ("earned", "کسب"),
    "purchase": ("purchase", "خرید"),
    "redeem": ("redeemed", "استفاده"),
    "expire": ("expired", "انقضا"),
    "adjust": ("adjustment", "اصلاح"),
    "reverse": ("reversed", "برگشت"),
    "clawback": ("clawback", "بازپس‌گیری"),
    "refund": ("refund", "مرجوعی"),
    "merge_in": ("merged in", "ادغام (ورود)"),
    "merge_out": ("merged out", "ادغام (خروج)"),
    "transfer_in": ("transfer received", "انتقال دریافتی"),
    "transfer_out": ("transfer sent", "انتقال ارسالی"),
    "transfer_fee": ("transfer fee", "کارمزد انتقال"),
    "transfer_fee_refund": ("transfer fee refunded", "بازگشت کارمزد انتقال"),
    "transfer_return": ("transfer returned", "برگشت انتقال"),
    "transfer_reversal": ("transfer reversed", "لغو انتقال"),
}
L = ui.Label


def kind_badge(kind: str) -> ui.Badge:
    en, fa = KIND_LABELS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
    tone = (
        "success"
        if kind in ("earn", "purchase", "transfer_in", "merge_in")
        else ("danger" if kind in ("expire", "clawback") else "neutral")
    )
    return ui.Badge(L(en, fa), tone=tone)


def profile_section(uow, customer) -> ui.Panel | None:
    account = uow.session.get(LoyaltyAccount, customer.id)
    if account is None:
        return None
    program = active_program(uow)
    days = program.expiry_warning_days or 30
    horizon = uow.now() + timedelta(days=days)
    soon_lots = [
        lot
        for lot in lots(uow, customer.id)
        if lot.expires_at is not None and lot.expires_at <= horizon
    ]
    entries = ledger(uow, customer.id, limit=5, newest_first=True)
    spendable = balance(uow, customer.id)  # lots past their expiry no longer count
    data = {
        "balance": spendable,
        "owed": account.owed,
        "expiring_soon": [
            {"points": lot.remaining, "expires_at": lot.expires_at.isoformat()} for lot in soon_lots
        ],
        "expiring_within_days": days,
        "last_entries": [
            {
                k: v
                for k, v in entry_to_dict(e).items()
                if k in ("seq", "kind", "points", "balance_after", "reason", "occurred_at")
            }
            for e in entries
        ],
    }
    stats = [
        ui.Stat(
            L("Points balance", "مانده امتیاز"),
            spendable,
            kind="number",
            href=f"/p/loyalty/members/{customer.id}",
        )
    ]
    if soon_lots:
        stats.append(
            ui.Stat(
                L(f"Expiring within {days} days", f"در حال انقضا تا {days} روز"),
                sum(lot.remaining for lot in soon_lots),
                kind="number",
                tone="warning",
            )
        )
    if account.owed:
        stats.append(ui.Stat(L("Owed", "بدهی امتیاز"), account.owed, kind="number", tone="danger"))
    items: list = stats
    if soon_lots:
        items.append(
            ui.Table(
                columns=[
                    ui.Column("expires", L("Expires", "تاریخ انقضا"), "moment"),
                    ui.Column("points", L("Points", "امتیاز"), "number"),
                ],
                rows=[
                    {"expires": lot.expires_at, "points": lot.remaining} for lot in soon_lots[:5]
                ],
                title=L("Expiring soon", "به‌زودی منقضی می‌شود"),
                total=len(soon_lots),
            )
        )
    items.append(
        ui.Table(
            columns=[
                ui.Column("at", L("When", "زمان"), "moment"),
                ui.Column("kind", L("Entry", "نوع"), "badge"),
                ui.Column("points", L("Points", "امتیاز"), "number"),
                ui.Column("balance", L("Balance", "مانده"), "number"),
            ],
            rows=[
                {
                    "at": e.occurred_at,
                    "kind": kind_badge(e.kind),
                    "points": e.points,
                    "balance": e.balance_after,
                }
                for e in entries
            ],
            title=L("Latest entries", "آخرین گردش‌ها"),
            empty=L("No entries yet.", "هنوز گردشی ثبت نشده است."),
            total=account_entries(uow, customer.id),
            more_href=None,
        )
    )
    return ui.Panel(
        key="loyalty", title=L("Loyalty", "باشگاه مشتریان"), order=40, items=items, data=data
    )


def account_entries(uow, customer_id: int) -> int:
    from sqlalchemy import func

    from .models import LoyaltyEntry

    return (
        uow.session.scalar(
            select(func.count())
            .select_from(LoyaltyEntry)
            .where(LoyaltyEntry.customer_id == customer_id)
        )
        or 0
    )


def _points_condition(op: str, value: str):
    try:
        n = int(to_ascii_digits(value).replace(",", ""))
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a whole number of points", field="points"
        ) from None
    if op == "~":
        raise ValidationError("points takes =, !=, >, >=, < or <=", field="points")
    members = Customer.id.in_(
        select(LoyaltyAccount.customer_id).where(compare(LoyaltyAccount.balance, op, n))
    )
    if compare(0, op, n):  # customers without an account have 0 points
        return or_(members, Customer.id.not_in(select(LoyaltyAccount.customer_id)))
    return members


POINTS_FIELD = SearchField(
    name="points",
    description="loyalty points balance",
    condition=_points_condition,
    type="int",
    ops=("=", "!=", ">", ">=", "<", "<="),
)


def summary_facts(uow, customer) -> list:
    """The points balance for the header of the customer page (none before the first points)."""
    account = uow.session.get(LoyaltyAccount, customer.id)
    if account is None:
        return []
    facts = [
        ui.Stat(
            L("Points balance", "مانده امتیاز"),
            account.balance,
            kind="number",
            href=f"/customers/{customer.id}?only=loyalty#timeline",
        )
    ]
    if account.owed:
        facts.append(
            ui.Stat(L("Points owed", "بدهی امتیاز"), account.owed, kind="number", tone="danger")
        )
    return facts


def timeline_entries(uow, customer, before, limit: int) -> list:
    """The member's ledger entries (points earned, spent, expired…) for the unified timeline."""
    from .models import LoyaltyEntry

    q = select(LoyaltyEntry).where(LoyaltyEntry.customer_id == customer.id)
    if before is not None:
        q = q.where(LoyaltyEntry.occurred_at < before)
    q = q.order_by(LoyaltyEntry.occurred_at.desc(), LoyaltyEntry.seq.desc()).limit(limit)
    out = []
    for e in uow.session.scalars(q):
        badge = kind_badge(e.kind)
        out.append(
            ui.TimelineEntry(
                e.occurred_at,
                badge.text,
                kind=L("points", "امتیاز"),
                tone=badge.tone,
                value=e.points,
                value_kind="number",
            )
        )
    return out
