"""A survey's results question by question (``crm surveys results``), across its question versions."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select

from crmcore.api import format_datetime

from .metrics import as_text, ces_breakdown, csat_breakdown, nps_breakdown
from .models import Response, Survey, SurveyVersion
from .service import response_rate, survey_counts


def _jsonable(breakdown: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (as_text(v) if not isinstance(v, (int, dict, type(None))) else v)
        for k, v in breakdown.items()
    }


def survey_results(
    uow,
    survey: Survey,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    calendar: str = "gregorian",
    comments: int = 5,
) -> dict[str, Any]:
    """Per question: NPS/CSAT/CES breakdowns, choice counts, the latest comments. Questions are taken from
    the newest version that has them, so answers to older versions keep counting under the same key."""
    session = uow.session
    q = (
        select(Response)
        .where(Response.survey_id == survey.id)
        .order_by(Response.answered_at, Response.id)
    )
    if start is not None:
        q = q.where(Response.answered_at >= start)
    if end is not None:
        q = q.where(Response.answered_at < end)
    responses = list(session.scalars(q))
    versions = list(
        session.scalars(
            select(SurveyVersion)
            .where(SurveyVersion.survey_id == survey.id)
            .order_by(SurveyVersion.version.desc())
        )
    )
    questions: dict[str, dict[str, Any]] = {}
    for v in versions:
        for question in v.questions:
            questions.setdefault(question["key"], question)
    tz = uow.app.timezone
    out_questions = []
    for key, question in questions.items():
        values = [r.answers[key] for r in responses if key in r.answers]
        item: dict[str, Any] = {
            "key": key,
            "type": question["type"],
            "text": question["text"],
            "answers": len(values),
        }
        if question["type"] == "nps":
            item.update(_jsonable(nps_breakdown(values)))
        elif question["type"] == "csat":
            item.update(_jsonable(csat_breakdown(values)))
        elif question["type"] == "ces":
            item.update(_jsonable(ces_breakdown(values)))
        elif question["type"] in ("single", "multiple"):
            counter = Counter(
                v for value in values for v in (value if isinstance(value, list) else [value])
            )
            item["choices"] = [
                {"key": c["key"], "text": c["text"], "count": counter.get(c["key"], 0)}
                for c in question["choices"]
            ]
        else:
            latest = [r for r in responses if key in r.answers][-comments:] if comments else []
            item["latest"] = [
                {
                    "customer_id": r.customer_id,
                    "text": r.answers[key],
                    "answered_at": format_datetime(r.answered_at, calendar, tz=tz),
                    "answered_at_utc": r.answered_at.isoformat(),
                }
                for r in reversed(latest)
            ]
        out_questions.append(item)
    counts = survey_counts(session, [survey.id]).get(survey.id, {"sent": 0, "responses": 0})
    return {
        "survey": survey.name,
        "title": survey.title,
        "title_fa": survey.title_fa,
        "version": survey.current_version,
        "responses": len(responses),
        "invitations_sent": counts["sent"],
        "response_rate": response_rate(counts["sent"], counts["responses"]),
        "detractors": sum(1 for r in responses if r.detractor),
        "questions": out_questions,
    }
