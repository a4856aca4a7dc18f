"""Forgetting a customer: erase the names, contact details and free text the pipeline holds about them;
amounts, stages and dates stay for the reports."""
from __future__ import annotations

from sqlalchemy import select, update

from .models import Deal, DealActivity, Lead, StageHistory


def forget(uow, customer) -> None:
    session = uow.session
    for lead in session.scalars(select(Lead).where(Lead.customer_id == customer.id)):
        lead.title = f"lead {lead.id}"
        lead.contact_name = lead.phone = lead.email = lead.company = lead.note = None
        if lead.disqualify_reason:
            lead.disqualify_reason = "-"
    deal_ids = []
    for deal in session.scalars(select(Deal).where(Deal.customer_id == customer.id)):
        deal.title = f"deal {deal.id}"
        deal.next_activity = deal.close_note = None
        deal_ids.append(deal.id)
    if deal_ids:
        session.execute(update(DealActivity).where(DealActivity.deal_id.in_(deal_ids)).values(note=None)
                        .execution_options(synchronize_session=False))
        session.execute(update(StageHistory).where(StageHistory.deal_id.in_(deal_ids)).values(note=None)
                        .execution_options(synchronize_session=False))
    session.flush()
