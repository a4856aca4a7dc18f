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


# --- the pages, API routes and menu (crm_web_routes, crm_web_menu) --------------------------------
def routes():
    from crmcore.api import WebRoute

    from . import answer_page, staff_pages

    return [
        WebRoute("/s/{token}", answer_page.show, kind="page", public=True),
        WebRoute("/s/{token}", answer_page.submit, kind="page", methods=("POST",), public=True),
        WebRoute("/s/{token}/thanks", answer_page.thanks, kind="page", public=True),
        WebRoute("/assets/answer.css", answer_page.stylesheet, kind="page", public=True),
        WebRoute(
            "/answers/{token}",
            answer_page.api_questions,
            public=True,
            summary="surveys: the questions of an invitation (public: the token is the key)",
        ),
        WebRoute(
            "/answers/{token}",
            answer_page.api_answer,
            methods=("POST",),
            public=True,
            summary="surveys: answer an invitation (public: the token is the key); body "
            '{"answers": {"nps": 9, "why": "…"}}',
        ),
        WebRoute("/results", staff_pages.results_page, kind="page"),
        WebRoute(
            "/results/{survey}",
            staff_pages.api_results,
            summary="surveys: a survey's results question by question (crm surveys results)",
        ),
        WebRoute("/followups", staff_pages.followups_page, kind="page"),
        WebRoute(
            "/followups",
            staff_pages.api_followups,
            summary="surveys: detractors' follow-ups (crm surveys followups --json)",
        ),
        WebRoute(
            "/followups/{followup_id:int}/done",
            staff_pages.followup_done,
            kind="page",
            methods=("POST",),
            access="write",
        ),
    ]


def menu():
    from crmcore.api import MenuItem

    return [
        MenuItem("Surveys", "/p/surveys/results", "نظرسنجی‌ها"),
        MenuItem("Follow-ups", "/p/surveys/followups", "پیگیری ناراضیان"),
    ]
