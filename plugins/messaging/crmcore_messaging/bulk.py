"""The batch form of messaging's purchase trigger, for imports."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crmcore.api import Customer

from . import triggers
from .settings import get_settings


def purchases(uow, interactions, batch) -> None:
    """Thank-you messages for an import's recent purchases: the trigger is asked once; history
    (older than the thank-you age, or a batch marked ``history``) sends nothing; the customers of
    the rest are read with one query."""
    if not triggers.triggers_for(uow, "purchase"):
        return
    if batch is not None and batch.history:
        bought = sum(1 for i in interactions if i.kind == "purchase")
        if bought:
            uow.suppress("purchase", bought)
        return
    max_age = timedelta(hours=get_settings(uow)["thank_you_max_age_hours"])
    now = uow.now()
    recent = [i for i in interactions if i.kind == "purchase" and now - i.occurred_at <= max_age]
    if not recent:
        return
    ids = sorted({i.customer_id for i in recent})
    customers = {c.id: c for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    for i in recent:
        triggers.purchase(uow, i, customers[i.customer_id])
