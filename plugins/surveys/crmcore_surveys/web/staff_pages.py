"""The staff's side: results per survey with the NPS and CSAT trend (from the ``surveys.nps`` and
``surveys.csat`` reports, so the page equals ``crm reports run``), and the detractors' follow-up
list with its "done" action (:func:`crmcore_surveys.followups.close_followup`, as ``crm surveys
followup-done``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.responses import RedirectResponse

from crmcore.api import ReportParams, run_report, to_persian_digits, ui

from ..followups import close_followup, followup_to_dict, list_followups
from ..models import FollowUp
from ..results import survey_results
from ..service import get_survey

L = ui.Label
PAGE = "crmcore_surveys:web/page.html"
TREND_PERIODS = 12
STATUS_WORDS = {
    "active": L("active", "فعال"),
    "paused": L("paused", "متوقف"),
    "closed": L("closed", "بسته"),
}


def _params(ctx, *, options: dict[str, str] | None = None) -> ReportParams:
    calendar = "jalali" if ctx.lang == "fa" else "gregorian"
    return ReportParams(
        calendar=calendar,
        period="jalali_month" if calendar == "jalali" else "month",
        timezone=ctx.uow.app.timezone,
        options=dict(options or {}),
    )


def _render(ctx, heading: ui.Label, panels: list[ui.Panel], **extra: Any):
    return ctx.render(
        PAGE,
        title=heading.text(ctx.lang),
        heading=heading,
        panels=panels,
        plugin="surveys",
        may=lambda level: ctx.user.can(level, "surveys"),
        **extra,
    )


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _period_label(period: str, lang: str) -> ui.Label:
    return L(period, to_persian_digits(period.replace("-", "/")) if lang == "fa" else period)


def trend_chart(
    ctx, report: str, column: str, title: ui.Label, survey: str | None
) -> ui.Chart | None:
    """A bar per month of ``column`` of the report (the last :data:`TREND_PERIODS` months with
    answers)."""
    result = run_report(
        ctx.uow, report, _params(ctx, options={"survey": survey} if survey else None)
    )
    index = result["columns"].index(column)
    bars = [
        (_period_label(row[0], ctx.lang), _dec(row[index]))
        for row in result["rows"]
        if row[1] == "all" and row[index] is not None
    ][-TREND_PERIODS:]
    return ui.Chart(bars, title=title, kind="number") if bars else None


def overview(ctx) -> ui.Panel:
    result = run_report(ctx.uow, "surveys.responses", _params(ctx))
    cols = result["columns"]
    rows = []
    for row in result["rows"]:
        r = dict(zip(cols, row))
        rows.append(
            {
                "survey": ui.Link(r["survey"], f"/p/surveys/results?survey={r['survey']}"),
                "status": ui.Badge(
                    STATUS_WORDS.get(r["status"], r["status"]),
                    "success" if r["status"] == "active" else "neutral",
                ),
                "sent": r["invitations_sent"],
                "responses": r["responses"],
                "rate": _dec(r["response_rate_pct"]),
                "nps": _dec(r["nps"]),
                "csat": _dec(r["csat_pct"]),
                "detractors": r["detractors"],
            }
        )
    table = ui.Table(
        columns=[
            ui.Column("survey", L("Survey", "نظرسنجی"), "link"),
            ui.Column("status", L("Status", "وضعیت"), "badge"),
            ui.Column("sent", L("Invited", "دعوت‌شده"), "number"),
            ui.Column("responses", L("Answers", "پاسخ"), "number"),
            ui.Column("rate", L("Response rate", "نرخ پاسخ"), "percent"),
            ui.Column("nps", L("NPS", "NPS"), "number"),
            ui.Column("csat", L("CSAT", "CSAT"), "percent"),
            ui.Column("detractors", L("Detractors", "ناراضی"), "number"),
        ],
        rows=rows,
        empty=L("No survey yet: crm surveys create …", "هنوز نظرسنجی‌ای نیست: crm surveys create …"),
    )
    return ui.Panel(key="overview", title=L("All surveys", "همه نظرسنجی‌ها"), items=[table])


def survey_panel(ctx, name: str) -> list[ui.Panel]:
    survey = get_survey(ctx.uow.session, name)
    data = survey_results(ctx.uow, survey, calendar="jalali" if ctx.lang == "fa" else "gregorian")
    title = (survey.title_fa or survey.title) if ctx.lang == "fa" else survey.title
    stats: list[Any] = [
        ui.Stat(L("Answers", "پاسخ‌ها"), data["responses"], kind="number"),
        ui.Stat(L("Response rate", "نرخ پاسخ"), _dec(data["response_rate"]), kind="percent"),
        ui.Stat(
            L("Detractors", "ناراضیان"),
            data["detractors"],
            kind="number",
            href="/p/surveys/followups",
            tone="danger" if data["detractors"] else "neutral",
        ),
    ]
    for q in data["questions"]:
        if q["type"] == "nps":
            stats.insert(
                0,
                ui.Stat(
                    L("NPS", "NPS"),
                    _dec(q.get("nps")),
                    kind="number",
                    hint=L(
                        f"{q['promoters']} promoters, {q['detractors']} detractors",
                        f"{to_persian_digits(str(q['promoters']))} مشوق، "
                        f"{to_persian_digits(str(q['detractors']))} منتقد",
                    ),
                ),
            )
        elif q["type"] == "csat":
            stats.insert(0, ui.Stat(L("CSAT", "رضایت (CSAT)"), _dec(q.get("csat")), kind="percent"))
    items: list[Any] = stats
    for chart in (
        trend_chart(ctx, "surveys.nps", "nps", L("NPS per month", "NPS در هر ماه"), name),
        trend_chart(
            ctx, "surveys.csat", "csat_pct", L("CSAT % per month", "درصد رضایت در هر ماه"), name
        ),
    ):
        if chart is not None:
            items.append(chart)
    for q in data["questions"]:
        text = q["text"].get(ctx.lang) or q["text"].get("fa") or q["text"].get("en") or q["key"]
        if "choices" in q:
            items.append(
                ui.Table(
                    title=text,
                    columns=[
                        ui.Column("choice", L("Choice", "گزینه")),
                        ui.Column("count", L("Answers", "پاسخ"), "number"),
                    ],
                    rows=[
                        {"choice": c["text"].get(ctx.lang) or c["key"], "count": c["count"]}
                        for c in q["choices"]
                    ],
                )
            )
        elif "latest" in q:
            items.append(
                ui.Table(
                    title=text,
                    columns=[
                        ui.Column("at", L("When", "زمان"), "moment"),
                        ui.Column("text", L("Comment", "نظر")),
                    ],
                    rows=[
                        {"at": datetime.fromisoformat(c["answered_at_utc"]), "text": c["text"]}
                        for c in q["latest"]
                    ],
                    empty=L("No comments yet.", "هنوز نظری ثبت نشده است."),
                )
            )
    return [ui.Panel(key=f"survey-{survey.name}", title=title or survey.name, items=items)]


def results_page(ctx):
    name = (ctx.query.get("survey") or "").strip()[:60]
    panels = survey_panel(ctx, name) if name else []
    if not name:
        chart = trend_chart(
            ctx,
            "surveys.nps",
            "nps",
            L("NPS per month, all surveys", "NPS همه نظرسنجی‌ها در هر ماه"),
            None,
        )
        csat = trend_chart(
            ctx,
            "surveys.csat",
            "csat_pct",
            L("CSAT % per month, all surveys", "درصد رضایت همه نظرسنجی‌ها در هر ماه"),
            None,
        )
        trend = [c for c in (chart, csat) if c is not None]
        if trend:
            panels.append(ui.Panel(key="trend", title=L("Trend", "روند"), items=trend))
    panels.append(overview(ctx))
    return _render(ctx, L("Survey results", "نتایج نظرسنجی‌ها"), panels)


def api_results(ctx) -> dict[str, Any]:
    survey = get_survey(ctx.uow.session, ctx.path_params["survey"])
    return survey_results(ctx.uow, survey, calendar="jalali" if ctx.lang == "fa" else "gregorian")


# --- follow-ups -----------------------------------------------------------------------------------
def _followup_section(ctx, item: FollowUp) -> ui.Section:
    data = followup_to_dict(ctx.uow, item)
    r = item.response
    score = r.nps_score if r.nps_score is not None else r.csat_score
    kind = "NPS" if r.nps_score is not None else "CSAT"
    fields = ui.FieldList(
        [
            ui.Field(
                L("Customer", "مشتری"),
                ui.Link(
                    data["customer"] or f"#{item.customer_id}", f"/customers/{item.customer_id}"
                ),
            ),
            ui.Field(L("Survey", "نظرسنجی"), data["survey"]),
            ui.Field(L(f"{kind} score", f"امتیاز {kind}"), score, kind="number"),
            ui.Field(L("Comment", "نظر"), data["comment"] or "—"),
            ui.Field(L("Answered", "زمان پاسخ"), r.answered_at, kind="moment"),
        ]
    )
    items: list[Any] = [fields]
    if item.status == "open":
        items.append(
            ui.Action(
                L("Called back: done", "پیگیری شد"),
                f"/followups/{item.id}/done",
                fields=[ui.ActionField("note", L("Note", "یادداشت"), kind="textarea")],
                tone="success",
            )
        )
    else:
        items.append(
            ui.Badge(L(f"done by {item.done_by}", f"انجام شد توسط {item.done_by}"), "success")
        )
    return ui.Section(L(f"Follow-up {item.id}", f"پیگیری {to_persian_digits(str(item.id))}"), items)


def followups_page(ctx, *, error: str | None = None):
    status = ctx.query.get("status", "open")
    status = status if status in ("open", "done", "all") else "open"
    items = list_followups(ctx.uow.session, status=None if status == "all" else status)
    sections: list[Any] = [_followup_section(ctx, item) for item in reversed(items[-200:])]
    if not sections:
        sections = [ui.Badge(L("Nothing to follow up.", "موردی برای پیگیری نیست."), "success")]
    title = {"open": L("Open", "باز"), "done": L("Done", "انجام‌شده"), "all": L("All", "همه")}
    switch = [
        ui.Link(title[s], f"/p/surveys/followups?status={s}")
        for s in ("open", "done", "all")
        if s != status
    ]
    panel = ui.Panel(
        key="followups",
        title=L(
            f"Detractors to call back ({len(items)})",
            f"مشتریان ناراضی برای پیگیری ({to_persian_digits(str(len(items)))})",
        ),
        items=[*switch, *sections],
    )
    response = _render(
        ctx, L("Detractor follow-ups", "پیگیری مشتریان ناراضی"), [panel], error=error
    )
    if error:
        response.status_code = 422
    return response


def api_followups(ctx) -> list[dict[str, Any]]:
    status = ctx.query.get("status", "open")
    return [
        followup_to_dict(ctx.uow, f)
        for f in list_followups(ctx.uow.session, status=None if status == "all" else status)
    ]


def followup_done(ctx):
    from crmcore.api import CRMError

    note = str((ctx.body or {}).get("note") or "")[:2000]
    try:
        close_followup(ctx.uow, ctx.path_params["followup_id"], note)
    except CRMError as exc:
        return followups_page(ctx, error=exc.message)
    return RedirectResponse("/p/surveys/followups?ok=saved", status_code=303)
