"""Report ``lottery.campaigns``: one row per campaign whose entry window overlaps the report's range."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crmcore.api import Report, ReportParams, ReportResult, format_datetime

from .models import LotteryCampaign, LotteryEntry, LotteryPrize, LotteryWinner

COLUMNS = [
    "campaign",
    "status",
    "entries_from",
    "entries_until",
    "draw_at",
    "participants",
    "entries",
    "eligible",
    "prizes",
    "awarded",
    "list_sha256",
]


def campaigns_report(uow, params: ReportParams) -> ReportResult:
    from .entries import drain

    drain(uow)
    lo, hi = params.utc_bounds()
    q = select(LotteryCampaign).order_by(LotteryCampaign.entry_start, LotteryCampaign.id)
    if lo is not None:
        q = q.where(LotteryCampaign.entry_end > lo)
    if hi is not None:
        q = q.where(LotteryCampaign.entry_start < hi)
    if params.option("status"):
        q = q.where(LotteryCampaign.status == params.option("status"))
    campaigns = list(uow.session.scalars(q))
    ids = [c.id for c in campaigns]
    entries = {
        cid: (int(p), int(w))
        for cid, p, w in uow.session.execute(
            select(
                LotteryEntry.campaign_id,
                func.count(func.distinct(LotteryEntry.customer_id)),
                func.coalesce(func.sum(LotteryEntry.weight), 0),
            )
            .where(LotteryEntry.campaign_id.in_(ids), LotteryEntry.weight > 0)
            .group_by(LotteryEntry.campaign_id)
        )
    }
    prizes = dict(
        uow.session.execute(
            select(LotteryPrize.campaign_id, func.sum(LotteryPrize.quantity))
            .where(LotteryPrize.campaign_id.in_(ids))
            .group_by(LotteryPrize.campaign_id)
        ).all()
    )
    awarded = dict(
        uow.session.execute(
            select(LotteryWinner.campaign_id, func.count(LotteryWinner.id))
            .where(LotteryWinner.campaign_id.in_(ids))
            .group_by(LotteryWinner.campaign_id)
        ).all()
    )
    rows = []
    totals = {"campaigns": 0, "entries": 0, "prizes": 0, "awarded": 0}
    cal, tz = params.calendar, params.timezone
    for c in campaigns:
        people, weight = entries.get(c.id, (0, 0))
        eligible = (c.close_summary or {}).get("eligible") if c.status != "open" else None
        last_moment = c.entry_end - timedelta(seconds=1)  # the window is half-open
        row = [
            c.name,
            c.status,
            format_datetime(c.entry_start, cal, tz=tz),
            format_datetime(last_moment, cal, tz=tz),
            format_datetime(c.draw_at, cal, tz=tz),
            people,
            weight,
            eligible,
            int(prizes.get(c.id) or 0),
            int(awarded.get(c.id) or 0),
            c.list_sha256,
        ]
        rows.append(row)
        totals["campaigns"] += 1
        totals["entries"] += weight
        totals["prizes"] += row[8]
        totals["awarded"] += row[9]
    return ReportResult(COLUMNS, rows, totals)


REPORTS = [
    Report(
        "lottery.campaigns",
        "Lottery campaigns",
        "Campaigns overlapping the range: status, participants, entries, eligible members, prizes, "
        "awarded, published list hash (option status=open|closed|drawn).",
        campaigns_report,
        title_fa="قرعه‌کشی‌ها",
    )
]
