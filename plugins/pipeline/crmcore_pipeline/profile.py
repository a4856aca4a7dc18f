"""The customer profile section: open deals, and what was won or lost."""
from __future__ import annotations

from collections import defaultdict

from crmcore.api import Money, ProfileSection
from sqlalchemy import select

from .deals import readable_deals
from .models import Deal, SalesRep


def deals_section(uow, customer) -> ProfileSection | None:
    q = select(Deal).where(Deal.customer_id == customer.id)
    readable = readable_deals(uow)  # the deals the user may read (the kernel's record rules)
    if readable is not None:
        q = q.outerjoin(SalesRep, SalesRep.id == Deal.owner_id).where(readable)
    deals = list(uow.session.scalars(q.order_by(Deal.id)))
    if not deals:
        return None
    calendar, tz = uow.app.calendar, uow.app.timezone
    from crmcore.api import format_date

    open_deals = [{"id": d.id, "title": d.title, "stage": d.stage.code, "stage_name": d.stage.name,
                   "amount": str(d.money.amount) if d.money else None, "currency": d.currency,
                   "probability": d.effective_probability, "owner": d.owner.username if d.owner else None,
                   "expected_close": format_date(d.expected_close, calendar, tz=tz) or None,
                   "next_activity": d.next_activity,
                   "next_activity_on": format_date(d.next_activity_on, calendar, tz=tz) or None}
                  for d in deals if d.status == "open"]
    won: dict[str, int] = defaultdict(int)
    for d in deals:
        if d.status == "won":
            won[d.currency] += d.amount_minor or 0
    return ProfileSection(
        key="pipeline", title="Deals", title_fa="معاملات", order=40,
        data={"open": open_deals, "won_deals": sum(d.status == "won" for d in deals),
              "lost_deals": sum(d.status == "lost" for d in deals),
              "won_amount": {c: str(Money(m, c).amount) for c, m in sorted(won.items())}})
