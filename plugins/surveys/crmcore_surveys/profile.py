"""The surveys section of the customer profile: last scores, responses, open follow-ups, pending
invitations."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import format_datetime, ui

from .models import FollowUp, Invitation, Response


def _last(session, customer_id: int, column):
    return session.scalar(
        select(Response)
        .where(Response.customer_id == customer_id, column.is_not(None))
        .order_by(Response.answered_at.desc(), Response.id.desc())
        .limit(1)
    )


L = ui.Label
KINDS = {
    "nps": (L("NPS (0–10)", "NPS (۰ تا ۱۰)"), 10),
    "csat": (L("Satisfaction (1–5)", "رضایت (۱ تا ۵)"), 5),
    "ces": (L("Effort (1–7)", "سهولت (۱ تا ۷)"), 7),
}


def customer_section(uow, customer) -> ui.Panel | None:
    session = uow.session
    responses = (
        session.scalar(select(func.count(Response.id)).where(Response.customer_id == customer.id))
        or 0
    )
    pending = (
        session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.customer_id == customer.id,
                Invitation.status.in_(("created", "queued")),
                Invitation.expires_at > uow.now(),
            )
        )
        or 0
    )
    if not responses and not pending:
        return None
    tz, cal = uow.app.timezone, uow.app.calendar
    last, rows = {}, []
    for kind, column in (
        ("nps", Response.nps_score),
        ("csat", Response.csat_score),
        ("ces", Response.ces_score),
    ):
        r = _last(session, customer.id, column)
        if r is not None:
            score = getattr(r, f"{kind}_score")
            last[kind] = {
                "score": score,
                "survey": r.survey_name,
                "answered_at": format_datetime(r.answered_at, cal, tz=tz),
            }
            label, _top = KINDS[kind]
            survey = r.survey
            rows.append(
                {
                    "kind": label,
                    "value": score,
                    "at": r.answered_at,
                    "survey": L(
                        survey.title or survey.name, survey.title_fa or survey.title or survey.name
                    ),
                }
            )
    open_followups = (
        session.scalar(
            select(func.count(FollowUp.id)).where(
                FollowUp.customer_id == customer.id, FollowUp.status == "open"
            )
        )
        or 0
    )
    data = {
        "last_scores": last,
        "responses": responses,
        "pending_invitations": pending,
        "open_followups": open_followups,
    }
    items: list = [
        ui.Stat(L("Responses", "پاسخ‌ها"), responses, kind="number"),
        ui.Stat(L("Invitations waiting", "دعوت‌های در انتظار"), pending, kind="number"),
        ui.Stat(
            L("Follow-ups open", "پیگیری‌های باز"),
            open_followups,
            kind="number",
            tone="warning" if open_followups else "neutral",
        ),
    ]
    if rows:
        items.append(
            ui.Table(
                columns=[
                    ui.Column("kind", L("Score", "شاخص")),
                    ui.Column("value", L("Last", "آخرین"), "number"),
                    ui.Column("survey", L("Survey", "نظرسنجی")),
                    ui.Column("at", L("Answered", "پاسخ"), "moment"),
                ],
                rows=rows,
                title=L("Latest scores", "آخرین امتیازها"),
            )
        )
    return ui.Panel(
        key="surveys", title=L("Surveys", "نظرسنجی‌ها"), order=60, items=items, data=data
    )


def answer_details(interaction) -> ui.Label | None:
    """A survey answer in the customer's history and timeline (``crm_interaction_details``): its
    score and its written comment; ``None`` for any other interaction."""
    from crmcore.api import to_persian_digits

    from .answers import INTERACTION_KIND

    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    if interaction.kind != INTERACTION_KIND or "response_id" not in payload:
        return None
    score = payload.get("score")
    comment = " ".join(str(payload.get("comment") or "").split())
    if len(comment) > 80:
        comment = comment[:79] + "…"
    en = f"score {score}" if score is not None else "answered"
    fa = f"امتیاز {to_persian_digits(str(score))}" if score is not None else "پاسخ داد"
    if comment:
        en, fa = f"{en} · “{comment}”", f"{fa} · «{comment}»"
    return ui.Label(en, fa)
