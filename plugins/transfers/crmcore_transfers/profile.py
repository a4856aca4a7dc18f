"""The transfers part of the customer profile: sent and received this period, the allowance left under each
limit, pending transfers both ways, and the member's family group."""
from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import Conflict, ProfileSection

from .limits import allowance, used
from .models import Family, Transfer
from .periods import period_of


def profile_section(uow, customer) -> ProfileSection | None:
    from .family import membership
    from .service import active_policy, policy_calendar

    involved = uow.session.scalar(select(func.count()).select_from(Transfer).where(
        (Transfer.sender_id == customer.id) | (Transfer.recipient_id == customer.id)))
    member = membership(uow, customer.id)
    try:
        policy = active_policy(uow)
    except Conflict:
        policy = None
    if not involved and member is None and policy is None:
        return None
    now = uow.now()
    data: dict = {"enabled": policy is not None}
    if policy is not None:
        calendar = policy_calendar(uow, policy)
        month = period_of(now, "month", calendar, uow.app.timezone)
        sent, received = (used(uow, customer.id, d, month.start, month.end) for d in ("sent", "received"))
        data |= {"period": month.label, "calendar": calendar,
                 "sent": {"count": sent[0], "points": sent[1]},
                 "received": {"count": received[0], "points": received[1]},
                 "allowance": allowance(uow, policy, calendar, customer.id, now)}
    pending = uow.session.execute(select(Transfer.id, Transfer.sender_id, Transfer.recipient_id, Transfer.points,
                                         Transfer.respond_by).where(
        Transfer.status == "pending",
        (Transfer.sender_id == customer.id) | (Transfer.recipient_id == customer.id)).order_by(Transfer.id)).all()
    data["pending"] = [{"id": t.id, "direction": "out" if t.sender_id == customer.id else "in",
                        "other": t.recipient_id if t.sender_id == customer.id else t.sender_id, "points": t.points,
                        "respond_by": t.respond_by.isoformat() if t.respond_by else None} for t in pending]
    data["family"] = None if member is None else {
        "id": member.family_id, "name": uow.session.get(Family, member.family_id).name, "role": member.role,
        "joined_at": member.joined_at.isoformat()}
    return ProfileSection(key="transfers", title="Point transfers", title_fa="انتقال امتیاز", order=45, data=data)
