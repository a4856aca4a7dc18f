"""The follow-up list: detractors' answers that no plugin took over (tickets not installed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crmcore.api import Conflict, Customer, NotFound, ValidationError, format_datetime

from .models import FollowUp


def list_followups(session, *, status: str | None = "open") -> list[FollowUp]:
    if status not in (None, "open", "done"):
        raise ValidationError(f"status {status!r} is open, done or all", field="status")
    q = select(FollowUp).order_by(FollowUp.created_at, FollowUp.id)
    if status:
        q = q.where(FollowUp.status == status)
    return list(session.scalars(q))


def close_followup(uow, followup_id: int, note: str | None = None) -> FollowUp:
    item = uow.session.get(FollowUp, followup_id)
    if item is None:
        raise NotFound(f"no follow-up with id {followup_id}", field="followup")
    if item.status == "done":
        raise Conflict(
            f"follow-up {followup_id} was already closed by {item.done_by}", field="followup"
        )
    item.status = "done"
    item.done_at = uow.now()
    item.done_by = uow.actor
    item.note = (note or "").strip() or None
    uow.audit(
        "close", "survey_followup", item.id, {"note": item.note}, customer_id=item.customer_id
    )
    return item


def followup_to_dict(uow, item: FollowUp, *, calendar: str = "gregorian") -> dict[str, Any]:
    r = item.response
    customer = uow.session.get(Customer, item.customer_id)
    tz = uow.app.timezone
    return {
        "id": item.id,
        "status": item.status,
        "customer_id": item.customer_id,
        "customer": customer.display_name if customer else None,
        "survey": r.survey_name,
        "score": r.score,
        "nps": r.nps_score,
        "csat": r.csat_score,
        "comment": r.comment,
        "response_id": r.id,
        "created_at": format_datetime(item.created_at, calendar, tz=tz),
        "done_at": format_datetime(item.done_at, calendar, tz=tz) or None,
        "done_by": item.done_by,
        "note": item.note,
    }
