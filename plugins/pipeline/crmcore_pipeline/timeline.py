"""The customer's deals on the unified timeline of the 360° page (``crm_customer_timeline``): a
deal when it was opened, and again when it was won or lost, with its amount; only deals the reader
may read (they follow their rep)."""

from __future__ import annotations

from sqlalchemy import or_, select

from crmcore.api import Money, ui

from .deals import readable_deals
from .models import Deal, SalesRep

L = ui.Label
OUTCOMES = {"won": (L("won", "برنده"), "success"), "lost": (L("lost", "از دست رفته"), "danger")}


def timeline_entries(uow, customer, before, limit: int) -> list[ui.TimelineEntry]:
    q = select(Deal).where(Deal.customer_id == customer.id)
    readable = readable_deals(uow)
    if readable is not None:
        q = q.outerjoin(SalesRep, SalesRep.id == Deal.owner_id).where(readable)
    if before is not None:
        q = q.where(or_(Deal.created_at < before, Deal.closed_at < before))
    q = q.order_by(Deal.created_at.desc(), Deal.id.desc()).limit(limit * 2)
    out = []
    for d in uow.session.scalars(q):
        amount = Money(d.amount_minor, d.currency) if d.amount_minor is not None else None
        kind = "money" if amount is not None else "auto"
        if before is None or d.created_at < before:
            out.append(
                ui.TimelineEntry(
                    d.created_at,
                    d.title,
                    kind=L("deal", "معامله"),
                    detail=L("opened", "ایجاد شد"),
                    value=amount,
                    value_kind=kind,
                )
            )
        if (
            d.closed_at is not None
            and d.status in OUTCOMES
            and (before is None or d.closed_at < before)
        ):
            word, tone = OUTCOMES[d.status]
            out.append(
                ui.TimelineEntry(
                    d.closed_at,
                    d.title,
                    kind=L("deal", "معامله"),
                    detail=word,
                    tone=tone,
                    value=amount,
                    value_kind=kind,
                )
            )
    out.sort(key=lambda e: e.at, reverse=True)
    return out[:limit]
