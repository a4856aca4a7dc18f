"""Who may receive: any member, members of the sender's family (after the cooling-off period), or the
recipients the sender registered and the club approved."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from crmcore.api import ValidationError, format_date

from .models import ApprovedRecipient, Family, FamilyMember
from .policy import Policy


def _membership(uow, customer_id: int) -> FamilyMember | None:
    return uow.session.scalar(select(FamilyMember).where(FamilyMember.customer_id == customer_id))


def family_reason(
    uow, policy: Policy, sender_id: int, recipient_id: int, now: datetime
) -> str | None:
    """``None`` when the two may transfer within their family now, else why not."""
    mine, theirs = _membership(uow, sender_id), _membership(uow, recipient_id)
    if mine is None:
        return f"customer {sender_id} is not in a family group"
    if theirs is None or theirs.family_id != mine.family_id:
        return f"customer {recipient_id} is not in customer {sender_id}'s family group"
    cooling = timedelta(days=policy.family_cooling_days)
    later = max((theirs, mine), key=lambda m: m.joined_at)  # on a tie, name the recipient
    opens = later.joined_at + cooling
    if now < opens:
        family = uow.session.get(Family, mine.family_id)
        calendar, tz = uow.app.calendar, uow.app.timezone
        return (
            f"customer {later.customer_id} joined the family «{family.name}» on "
            f"{format_date(later.joined_at, calendar, tz=tz)}; transfers within it open on "
            f"{format_date(opens, calendar, tz=tz)} (cooling-off {policy.family_cooling_days} days)"
        )
    return None


def is_approved(uow, sender_id: int, recipient_id: int) -> bool:
    return (
        uow.session.scalar(
            select(ApprovedRecipient.id).where(
                ApprovedRecipient.sender_id == sender_id,
                ApprovedRecipient.recipient_id == recipient_id,
                ApprovedRecipient.status == "approved",
            )
        )
        is not None
    )


def admitting_circle(uow, policy: Policy, sender_id: int, recipient_id: int, now: datetime) -> str:
    """The circle of the policy that admits the recipient (``any``, ``family``, ``approved``), or refuse."""
    if "any" in policy.recipients:
        return "any"
    reasons = []
    if "approved" in policy.recipients:
        if is_approved(uow, sender_id, recipient_id):
            return "approved"
        reasons.append(
            f"customer {recipient_id} is not an approved recipient of customer {sender_id}"
        )
    if "family" in policy.recipients:
        why = family_reason(uow, policy, sender_id, recipient_id, now)
        if why is None:
            return "family"
        reasons.append(why)
    allowed = " or ".join(
        {"family": "the sender's family", "approved": "approved recipients"}[c]
        for c in policy.recipients
    )
    raise ValidationError(
        f"customer {recipient_id} is outside the allowed circle ({allowed}): " + "; ".join(reasons),
        field="recipient",
    )
