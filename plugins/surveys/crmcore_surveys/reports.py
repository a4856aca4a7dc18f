"""Reports: ``surveys.nps`` and ``surveys.csat`` per period and segment, ``surveys.responses`` per survey.

Options (``crm reports run … --option NAME=VALUE``):

- ``survey=NAME``: only this survey (default: all);
- ``segment=CLAUSES``: one or more customer segments separated by ``|``, each a ``;``-separated list of
  ``--where`` clauses (``segment=tag=vip|city=تهران;tag=عمده``); a row per period and segment.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, select

from crmcore.api import Customer, Report, ReportParams, ReportResult, where_conditions

from .metrics import as_text, ces_breakdown, csat_breakdown, nps_breakdown, percent
from .models import Invitation, Response, Survey
from .service import get_survey


def _segments(uow, params: ReportParams) -> list[tuple[str, Any]]:
    raw = (params.option("segment") or "").strip()
    if not raw:
        return [("all", None)]
    out = []
    for segment in raw.split("|"):
        clauses = [c.strip() for c in segment.split(";") if c.strip()]
        conds = where_conditions(uow, clauses)
        out.append(
            ("; ".join(clauses), Response.customer_id.in_(select(Customer.id).where(and_(*conds))))
        )
    return out


def _scores(uow, params: ReportParams, column) -> list[tuple[str, list[tuple[Any, int]]]]:
    lo, hi = params.utc_bounds()
    q = select(Response.answered_at, column).where(column.is_not(None))
    name = params.option("survey")
    if name:
        q = q.where(Response.survey_id == get_survey(uow.session, name).id)
    if lo is not None:
        q = q.where(Response.answered_at >= lo)
    if hi is not None:
        q = q.where(Response.answered_at < hi)
    out = []
    for label, cond in _segments(uow, params):
        sq = q if cond is None else q.where(cond)
        out.append((label, list(uow.session.execute(sq.order_by(Response.answered_at)))))
    return out


def _by_period(params: ReportParams, rows: list[tuple[Any, int]]) -> dict[str, list[int]]:
    buckets: dict[str, list[int]] = defaultdict(list)
    for at, score in rows:
        buckets[params.period_key(at)].append(score)
    return dict(sorted(buckets.items()))


def nps_report(uow, params: ReportParams) -> ReportResult:
    rows, totals = [], {}
    for segment, data in _scores(uow, params, Response.nps_score):
        for period, scores in _by_period(params, data).items():
            b = nps_breakdown(scores)
            rows.append(
                [
                    period,
                    segment,
                    b["responses"],
                    b["promoters"],
                    b["passives"],
                    b["detractors"],
                    as_text(b["promoters_pct"]),
                    as_text(b["detractors_pct"]),
                    as_text(b["nps"]),
                ]
            )
        t = nps_breakdown(s for _at, s in data)
        totals[segment] = {k: as_text(v) if not isinstance(v, int) else v for k, v in t.items()}
    return ReportResult(
        columns=[
            "period",
            "segment",
            "responses",
            "promoters",
            "passives",
            "detractors",
            "promoters_pct",
            "detractors_pct",
            "nps",
        ],
        rows=rows,
        totals={"by_segment": totals, "period": params.period, "calendar": params.calendar},
    )


def csat_report(uow, params: ReportParams) -> ReportResult:
    rows, totals = [], {}
    for segment, data in _scores(uow, params, Response.csat_score):
        for period, scores in _by_period(params, data).items():
            b = csat_breakdown(scores)
            rows.append(
                [
                    period,
                    segment,
                    b["responses"],
                    b["satisfied"],
                    as_text(b["csat"]),
                    as_text(b["average"]),
                ]
            )
        t = csat_breakdown(s for _at, s in data)
        totals[segment] = {
            "responses": t["responses"],
            "satisfied": t["satisfied"],
            "csat": as_text(t["csat"]),
            "average": as_text(t["average"]),
            "distribution": t["distribution"],
        }
    return ReportResult(
        columns=["period", "segment", "responses", "satisfied", "csat_pct", "average"],
        rows=rows,
        totals={"by_segment": totals, "period": params.period, "calendar": params.calendar},
    )


def responses_report(uow, params: ReportParams) -> ReportResult:
    """Per survey: invitations sent in the range, how many of them were answered (response rate), and the
    scores of the answers given in the range."""
    session = uow.session
    lo, hi = params.utc_bounds()
    inv = select(
        Invitation.survey_id, func.count(Invitation.id), func.count(Invitation.answered_at)
    ).where(Invitation.sent_at.is_not(None))
    res = select(
        Response.survey_id,
        Response.nps_score,
        Response.csat_score,
        Response.ces_score,
        Response.detractor,
    )
    if lo is not None:
        inv, res = inv.where(Invitation.sent_at >= lo), res.where(Response.answered_at >= lo)
    if hi is not None:
        inv, res = inv.where(Invitation.sent_at < hi), res.where(Response.answered_at < hi)
    surveys = list(session.scalars(select(Survey).order_by(Survey.name)))
    name = params.option("survey")
    if name:
        only = get_survey(session, name)
        surveys = [only]
    sent = {
        sid: (n, answered)
        for sid, n, answered in session.execute(inv.group_by(Invitation.survey_id))
    }
    scores: dict[int, dict[str, list]] = defaultdict(
        lambda: {"nps": [], "csat": [], "ces": [], "detractors": []}
    )
    for sid, nps, csat, ces, detractor in session.execute(res):
        bucket = scores[sid]
        for key, value in (("nps", nps), ("csat", csat), ("ces", ces)):
            if value is not None:
                bucket[key].append(value)
        bucket["detractors"].append(bool(detractor))
    rows = []
    all_sent = all_answered = 0
    for s in surveys:
        n, answered = sent.get(s.id, (0, 0))
        all_sent, all_answered = all_sent + n, all_answered + answered
        b = scores.get(s.id, {"nps": [], "csat": [], "ces": [], "detractors": []})
        rows.append(
            [
                s.name,
                s.status,
                n,
                answered,
                as_text(percent(answered, n)) if n else None,
                len(b["detractors"]),
                as_text(nps_breakdown(b["nps"])["nps"]),
                as_text(csat_breakdown(b["csat"])["csat"]),
                as_text(ces_breakdown(b["ces"])["average"]),
                sum(b["detractors"]),
            ]
        )
    return ReportResult(
        columns=[
            "survey",
            "status",
            "invitations_sent",
            "answered",
            "response_rate_pct",
            "responses",
            "nps",
            "csat_pct",
            "ces_average",
            "detractors",
        ],
        rows=rows,
        totals={
            "invitations_sent": all_sent,
            "answered": all_answered,
            "response_rate_pct": as_text(percent(all_answered, all_sent)) if all_sent else None,
        },
    )


REPORTS = [
    Report(
        "surveys.nps",
        "Net Promoter Score",
        "Promoters (9–10), passives (7–8), detractors (0–6) and NPS per period and segment; options: "
        "survey=NAME, segment=CLAUSES|CLAUSES.",
        nps_report,
        title_fa="شاخص خالص ترویج‌کنندگان (NPS)",
    ),
    Report(
        "surveys.csat",
        "Customer satisfaction (CSAT)",
        "Share of satisfied answers (4–5 of 5) and the average score per period and segment; options: "
        "survey=NAME, segment=CLAUSES|CLAUSES.",
        csat_report,
        title_fa="رضایت مشتری (CSAT)",
    ),
    Report(
        "surveys.responses",
        "Survey responses and response rates",
        "Per survey: invitations sent, answered, response rate, NPS, CSAT, CES and detractors; option "
        "survey=NAME.",
        responses_report,
        title_fa="پاسخ‌ها و نرخ پاسخ نظرسنجی‌ها",
    ),
]
