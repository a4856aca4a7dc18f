"""The customer's tickets on the unified timeline of the 360° page (``crm_customer_timeline``):
each ticket at the moment it was opened, with its state; only tickets the reader may read."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import ui

from .models import Ticket
from .profile import STATES
from .service import readable_tickets

L = ui.Label


def timeline_entries(uow, customer, before, limit: int) -> list[ui.TimelineEntry]:
    q = select(Ticket).where(Ticket.customer_id == customer.id)
    readable = readable_tickets(uow)
    if readable is not None:
        q = q.where(readable)
    if before is not None:
        q = q.where(Ticket.created_at < before)
    q = q.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    out = []
    for t in uow.session.scalars(q):
        state, tone = STATES.get(t.state, (L(t.state), "neutral"))
        out.append(
            ui.TimelineEntry(
                t.created_at, t.subject, kind=L("ticket", "تیکت"), detail=state, tone=tone
            )
        )
    return out
