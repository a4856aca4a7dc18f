"""The referrals section of the customer 360° page: the member's code, who brought them, friends, rewards."""
from __future__ import annotations

from crmcore.api import ProfileSection

from . import service


def section(uow, customer) -> ProfileSection:
    data = service.summary(uow, customer.id)
    return ProfileSection(key="referrals", title="Referrals", title_fa="معرفی دوستان", order=60,
                          data={k: data[k] for k in ("code", "referred_by", "friends",
                                                     "friends_qualified", "points_earned")})
