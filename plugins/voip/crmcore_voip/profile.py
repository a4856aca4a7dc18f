"""The voip section of the customer profile: recent calls and open missed-call follow-ups."""
from __future__ import annotations

from crmcore.api import ProfileSection
from sqlalchemy import func, select

from .models import COMPLETED, MISSED, Call, FollowUp

RECENT = 5


def voip_profile_section(uow, customer) -> ProfileSection | None:
    session = uow.session
    counts = dict(session.execute(select(Call.status, func.count()).where(Call.customer_id == customer.id)
                                  .group_by(Call.status)).all())
    if not counts:
        return None
    recent = session.scalars(select(Call).where(Call.customer_id == customer.id)
                             .order_by(Call.started_at.desc(), Call.id.desc()).limit(RECENT))
    open_follow_ups = session.scalar(select(func.count()).select_from(FollowUp).where(
        FollowUp.customer_id == customer.id, FollowUp.status == "open")) or 0
    data = {
        "calls": sum(counts.values()), "answered": counts.get(COMPLETED, 0), "missed": counts.get(MISSED, 0),
        "open_follow_ups": open_follow_ups,
        "recent": [{"id": c.id, "at": c.started_at.isoformat(), "direction": c.direction, "status": c.status,
                    "extension": c.extension, "answered_by": c.answered_by, "talk_seconds": c.talk_seconds,
                    "recording_url": c.recording_url} for c in recent],
    }
    return ProfileSection(key="voip", title="Calls", title_fa="تماس‌ها", data=data, order=60)
