"""What happens to referrals when two customers are merged."""

from __future__ import annotations

from sqlalchemy import select, update

from .models import Referral


def merge(uow, kept, merged) -> None:
    """The kept customer inherits the merged one's friends, rewards and — when it had none of its own —
    the referral that brought the merged one (the kernel moves the rewards,
    models.py). A referral that would now bring the kept customer to
    themselves is dropped with its pending state (it could never qualify honestly)."""
    s = uow.session
    s.execute(update(Referral).where(Referral.referrer_id == merged.id).values(referrer_id=kept.id))
    own = s.scalar(select(Referral).where(Referral.friend_id == kept.id))
    theirs = s.scalar(select(Referral).where(Referral.friend_id == merged.id))
    if theirs is not None and own is None and theirs.referrer_id != kept.id:
        theirs.friend_id = kept.id
    if own is not None and own.referrer_id == kept.id and own.status == "pending":
        s.delete(own)
