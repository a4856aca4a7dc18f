"""The lottery panel of the customer profile: entries in campaigns, prizes won."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import format_datetime, ui

from .models import LotteryCampaign, LotteryEntry, LotteryPrize, LotteryWinner

L = ui.Label
STATUSES = {
    "open": (L("open", "باز"), "success"),
    "closed": (L("closed", "بسته"), "neutral"),
    "drawn": (L("drawn", "قرعه کشیده شد"), "info"),
}


def customer_section(uow, customer) -> ui.Panel | None:
    from .entries import drain

    drain(uow)
    session = uow.session
    entries = session.execute(
        select(
            LotteryCampaign.name,
            LotteryCampaign.title,
            LotteryCampaign.title_fa,
            LotteryCampaign.status,
            func.sum(LotteryEntry.weight),
        )
        .join(LotteryCampaign, LotteryCampaign.id == LotteryEntry.campaign_id)
        .where(LotteryEntry.customer_id == customer.id, LotteryEntry.weight > 0)
        .group_by(
            LotteryCampaign.name,
            LotteryCampaign.title,
            LotteryCampaign.title_fa,
            LotteryCampaign.status,
        )
        .order_by(LotteryCampaign.name)
    ).all()
    wins = session.execute(
        select(
            LotteryCampaign.name,
            LotteryCampaign.title,
            LotteryCampaign.title_fa,
            LotteryPrize.name,
            LotteryPrize.name_fa,
            LotteryWinner.drawn_at,
        )
        .join(LotteryCampaign, LotteryCampaign.id == LotteryWinner.campaign_id)
        .join(LotteryPrize, LotteryPrize.id == LotteryWinner.prize_id)
        .where(LotteryWinner.customer_id == customer.id)
        .order_by(LotteryWinner.drawn_at.desc())
    ).all()
    if not entries and not wins:
        return None
    cal, tz = uow.app.calendar, uow.app.timezone
    from .members import code_of, format_code

    code = code_of(uow, customer.id, create=False)
    data = {
        "lottery_code": code,
        "entries": [
            {"campaign": name, "status": status, "entries": int(weight)}
            for name, _t, _tfa, status, weight in entries
        ],
        "prizes_won": [
            {
                "campaign": c,
                "prize": p,
                "prize_fa": pfa,
                "drawn_at": format_datetime(at, cal, tz=tz),
            }
            for c, _t, _tfa, p, pfa, at in wins
        ],
    }
    items: list = [
        ui.Stat(
            L("Lottery code", "کد قرعه‌کشی"),
            L(format_code(code), format_code(code, True)),
            hint=L("in every published entry list", "در فهرست منتشرشده شانس‌ها"),
        ),
        ui.Table(
            columns=[
                ui.Column("campaign", L("Campaign", "قرعه‌کشی")),
                ui.Column("status", L("Status", "وضعیت"), "badge"),
                ui.Column("entries", L("Entries", "شانس‌ها"), "number"),
            ],
            rows=[
                {
                    "campaign": L(title or name, title_fa or title or name),
                    "status": ui.Badge(*STATUSES.get(status, (L(status), "neutral"))),
                    "entries": int(weight),
                }
                for name, title, title_fa, status, weight in entries
            ],
            empty=L("No entries.", "شانسی ندارد."),
        ),
    ]
    items += [
        ui.TimelineEntry(
            at,
            L(f"Won {p}", f"برندهٔ {pfa or p}"),
            detail=L(t or c, tfa or t or c),
            kind=L("prize", "جایزه"),
            tone="success",
        )
        for c, t, tfa, p, pfa, at in wins
    ]
    return ui.Panel(key="lottery", title=L("Lottery", "قرعه‌کشی"), order=80, items=items, data=data)
