"""What loyalty adds to ``crm web``: the dashboard widget of the points the club owes its members
(figures from the ``loyalty.summary`` report of this month)."""

from __future__ import annotations

from crmcore.api import ui

from .programs import active_program


def dashboard_widgets(uow, user, dashboard) -> list[ui.Panel]:
    first, last = dashboard.month()
    month = {"start": first, "end": last, "period": dashboard.month_period}
    currency = active_program(uow).currency
    items = [
        dashboard.stat(
            ui.Label("Points liability", "بدهی امتیازها"),
            "loyalty.summary",
            "totals.liability",
            kind="money",
            currency=currency,
            minor=True,
            **month,
        ),
        dashboard.stat(
            ui.Label("Points outstanding", "امتیاز خرج‌نشده"),
            "loyalty.summary",
            "totals.outstanding",
            **month,
        ),
        dashboard.stat(
            ui.Label("Issued this month", "صادرشده این ماه"),
            "loyalty.summary",
            "totals.issued",
            **month,
        ),
        dashboard.stat(
            ui.Label("Redeemed this month", "خرج‌شده این ماه"),
            "loyalty.summary",
            "totals.redeemed",
            **month,
        ),
    ]
    return [
        ui.Panel(
            key="loyalty", title=ui.Label("Loyalty club", "باشگاه مشتریان"), order=40, items=items
        )
    ]
