"""What surveys adds to ``crm web``: the dashboard widget of the Net Promoter Score, this month and
its trend over the last six months (figures from the ``surveys.nps`` report)."""

from __future__ import annotations

from decimal import Decimal

from crmcore.api import to_persian_digits, ui

MONTHS = 6


def dashboard_widgets(uow, user, dashboard) -> list[ui.Panel]:
    first, last = dashboard.month()
    trend_start = dashboard.month(MONTHS - 1)[0]
    period = dashboard.month_period
    now = dashboard.stat(
        ui.Label("NPS this month", "NPS این ماه"),
        "surveys.nps",
        "totals.by_segment.all.nps",
        start=first,
        end=last,
        period=period,
        default=None,
    )
    half_year = dashboard.stat(
        ui.Label(f"NPS, last {MONTHS} months", f"NPS، {to_persian_digits(str(MONTHS))} ماه اخیر"),
        "surveys.nps",
        "totals.by_segment.all.nps",
        start=trend_start,
        end=last,
        period=period,
        default=None,
    )
    answers = dashboard.stat(
        ui.Label("Answers this month", "پاسخ‌های این ماه"),
        "surveys.nps",
        "totals.by_segment.all.responses",
        start=first,
        end=last,
        period=period,
    )
    rows = dashboard.report("surveys.nps", start=trend_start, end=last, period=period)["rows"]
    items: list = [now, half_year, answers]
    trend = [
        (ui.Label(row[0], to_persian_digits(row[0])), Decimal(row[8]))
        for row in rows
        if row[8] is not None
    ]
    if trend:
        items.append(ui.Chart(trend, title=ui.Label("NPS per month", "NPS در هر ماه")))
    return [
        ui.Panel(
            key="surveys",
            title=ui.Label("Customer satisfaction", "رضایت مشتری"),
            order=35,
            items=items,
        )
    ]
