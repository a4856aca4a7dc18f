"""The surveys section of the customer profile: last scores, responses, open follow-ups, pending invitations."""
from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import ProfileSection, format_datetime

from .models import FollowUp, Invitation, Response


def _last(session, customer_id: int, column):
    return session.scalar(select(Response).where(Response.customer_id == customer_id, column.is_not(None))
                          .order_by(Response.answered_at.desc(), Response.id.desc()).limit(1))


def customer_section(uow, customer) -> ProfileSection | None:
    session = uow.session
    responses = session.scalar(select(func.count(Response.id)).where(Response.customer_id == customer.id)) or 0
    pending = session.scalar(select(func.count(Invitation.id)).where(
        Invitation.customer_id == customer.id, Invitation.status.in_(("scheduled", "sent")))) or 0
    if not responses and not pending:
        return None
    tz, cal = uow.app.timezone, uow.app.calendar
    last = {}
    for kind, column in (("nps", Response.nps_score), ("csat", Response.csat_score), ("ces", Response.ces_score)):
        r = _last(session, customer.id, column)
        if r is not None:
            last[kind] = {"score": getattr(r, f"{kind}_score"), "survey": r.survey_name,
                          "answered_at": format_datetime(r.answered_at, cal, tz=tz)}
    open_followups = session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.customer_id == customer.id, FollowUp.status == "open")) or 0
    return ProfileSection(key="surveys", title="Surveys", title_fa="نظرسنجی‌ها", order=60,
                          data={"last_scores": last, "responses": responses, "pending_invitations": pending,
                                "open_followups": open_followups})
