"""The lottery section of the customer profile: entries in open campaigns, prizes won."""
from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import ProfileSection, format_datetime

from .models import LotteryCampaign, LotteryEntry, LotteryPrize, LotteryWinner


def customer_section(uow, customer) -> ProfileSection | None:
    from .entries import drain

    drain(uow)
    session = uow.session
    entries = session.execute(
        select(LotteryCampaign.name, LotteryCampaign.status, func.sum(LotteryEntry.weight))
        .join(LotteryCampaign, LotteryCampaign.id == LotteryEntry.campaign_id)
        .where(LotteryEntry.customer_id == customer.id, LotteryEntry.weight > 0)
        .group_by(LotteryCampaign.name, LotteryCampaign.status)
        .order_by(LotteryCampaign.name)).all()
    wins = session.execute(
        select(LotteryCampaign.name, LotteryPrize.name, LotteryPrize.name_fa, LotteryWinner.drawn_at)
        .join(LotteryCampaign, LotteryCampaign.id == LotteryWinner.campaign_id)
        .join(LotteryPrize, LotteryPrize.id == LotteryWinner.prize_id)
        .where(LotteryWinner.customer_id == customer.id)
        .order_by(LotteryWinner.drawn_at.desc())).all()
    if not entries and not wins:
        return None
    cal, tz = uow.app.calendar, uow.app.timezone
    return ProfileSection(
        key="lottery", title="Lottery", title_fa="قرعه‌کشی", order=80,
        data={"entries": [{"campaign": name, "status": status, "entries": int(weight)}
                          for name, status, weight in entries],
              "prizes_won": [{"campaign": c, "prize": p, "prize_fa": pfa, "drawn_at": format_datetime(at, cal, tz=tz)}
                             for c, p, pfa, at in wins]})
