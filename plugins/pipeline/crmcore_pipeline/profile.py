"""The customer profile panel: open deals, and what was won or lost."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from crmcore.api import Money, format_date, ui

from .models import Deal

L = ui.Label


def deals_section(uow, customer) -> ui.Panel | None:
    deals = list(
        uow.session.scalars(select(Deal).where(Deal.customer_id == customer.id).order_by(Deal.id))
    )
    if not deals:
        return None
    calendar, tz = uow.app.calendar, uow.app.timezone
    open_deals = [d for d in deals if d.status == "open"]
    won: dict[str, int] = defaultdict(int)
    for d in deals:
        if d.status == "won":
            won[d.currency] += d.amount_minor or 0
    won_count = sum(d.status == "won" for d in deals)
    lost_count = sum(d.status == "lost" for d in deals)
    data = {
        "open": [
            {
                "id": d.id,
                "title": d.title,
                "stage": d.stage.code,
                "stage_name": d.stage.name,
                "amount": str(d.money.amount) if d.money else None,
                "currency": d.currency,
                "probability": d.effective_probability,
                "owner": d.owner.username if d.owner else None,
                "expected_close": format_date(d.expected_close, calendar, tz=tz) or None,
                "next_activity": d.next_activity,
                "next_activity_on": format_date(d.next_activity_on, calendar, tz=tz) or None,
            }
            for d in open_deals
        ],
        "won_deals": won_count,
        "lost_deals": lost_count,
        "won_amount": {c: str(Money(m, c).amount) for c, m in sorted(won.items())},
    }
    stats = [
        ui.Stat(L("Open deals", "معاملات باز"), len(open_deals), kind="number"),
        ui.Stat(
            L("Won", "برنده"), won_count, kind="number", tone="success" if won_count else "neutral"
        ),
        ui.Stat(L("Lost", "از دست رفته"), lost_count, kind="number"),
    ]
    stats += [
        ui.Stat(L("Won amount", "مبلغ معاملات برنده"), Money(m, c), kind="money")
        for c, m in sorted(won.items())
    ]
    rows = [
        {
            "title": d.title,
            "stage": ui.Badge(L(d.stage.name_en or d.stage.name, d.stage.name), tone="info"),
            "amount": d.money,
            "probability": d.effective_probability,
            "close": d.expected_close,
            "next": d.next_activity or None,
            "next_on": d.next_activity_on,
            "owner": d.owner.username if d.owner else None,
        }
        for d in open_deals
    ]
    table = ui.Table(
        columns=[
            ui.Column("title", L("Deal", "معامله")),
            ui.Column("stage", L("Stage", "مرحله"), "badge"),
            ui.Column("amount", L("Amount", "مبلغ"), "money"),
            ui.Column("probability", L("Chance", "احتمال"), "percent"),
            ui.Column("close", L("Expected close", "بستن پیش‌بینی‌شده"), "date"),
            ui.Column("next", L("Next step", "گام بعدی")),
            ui.Column("next_on", L("Next step on", "تاریخ گام بعدی"), "date"),
        ],
        rows=rows,
        empty=L("No open deal.", "معاملهٔ بازی نیست."),
    )
    return ui.Panel(
        key="pipeline", title=L("Deals", "معاملات"), order=40, items=[*stats, table], data=data
    )
