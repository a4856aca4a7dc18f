"""Trigger evaluation on domain events: purchases of SKUs/categories, spending thresholds, tickets closed,
deals won, and (by the job ``surveys.first_purchase``) N days after a customer's first purchase."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from crmcore.api import Customer, Interaction, normalize

from .invitations import Decision, invite
from .service import active_surveys
from .settings import get_setting


def _surveys_with(uow, event: str) -> list[tuple[Any, dict[str, Any]]]:
    return [(s, t) for s in active_surveys(uow) for t in s.triggers if t["on"] == event]


def _stale(uow, occurred_at: datetime) -> bool:
    """History being imported triggers nothing: only events recorded soon after they happened count."""
    age = int(get_setting(uow, "max_event_age_days"))
    return occurred_at < uow.now() - timedelta(days=age)


def purchase_matches(trigger: dict[str, Any], payload: dict[str, Any]) -> bool:
    skus, cats = set(trigger.get("skus") or ()), set(trigger.get("categories") or ())
    if not skus and not cats:
        return True
    for line in (payload or {}).get("lines") or ():
        if not isinstance(line, dict):
            continue
        if skus and str(line.get("sku") or "").strip().upper() in skus:
            return True
        if cats and normalize(str(line.get("category") or "")) in cats:
            return True
    return False


def spent_within(uow, customer_id: int, currency: str, start: datetime, end: datetime) -> int:
    """Purchases minus refunds (minor units) in ``currency`` with start < occurred_at <= end."""
    signed = case(
        (Interaction.kind == "refund", -Interaction.amount_minor), else_=Interaction.amount_minor
    )
    total = uow.session.scalar(
        select(func.coalesce(func.sum(signed), 0)).where(
            Interaction.customer_id == customer_id,
            Interaction.kind.in_(("purchase", "refund")),
            Interaction.currency == currency,
            Interaction.occurred_at > start,
            Interaction.occurred_at <= end,
        )
    )
    return int(total or 0)


def on_purchase(uow, interaction: Interaction, customer: Customer) -> list[Decision]:
    """Purchase and spend triggers for a purchase just recorded."""
    candidates = _surveys_with(uow, "purchase") + _surveys_with(uow, "spend")
    if not candidates or _stale(uow, interaction.occurred_at):
        return []
    decisions = []
    for survey, trigger in candidates:
        if trigger["on"] == "purchase":
            if purchase_matches(trigger, interaction.payload):
                decisions.append(
                    invite(
                        uow,
                        survey,
                        customer,
                        trigger="purchase",
                        source_key=f"purchase:{interaction.id}",
                    )
                )
            continue
        if interaction.currency != trigger["currency"]:
            continue
        end = interaction.occurred_at
        total = spent_within(
            uow, customer.id, trigger["currency"], end - timedelta(days=trigger["days"]), end
        )
        before = total - (interaction.amount_minor or 0)
        if before < trigger["at_least_minor"] <= total:  # this purchase crossed the threshold
            decisions.append(
                invite(uow, survey, customer, trigger="spend", source_key=f"spend:{interaction.id}")
            )
    return decisions


def _customer(uow, customer_id: int | None) -> Customer | None:
    if customer_id is None:
        return None
    customer = uow.session.get(Customer, customer_id)
    while customer is not None and customer.merged_into_id is not None:
        customer = uow.session.get(Customer, customer.merged_into_id)
    return customer


def on_other_event(uow, event: str, customer_id: int | None, source_key: str) -> list[Decision]:
    """Triggers on other plugins' events (``ticket_closed``, ``deal_won``)."""
    candidates = _surveys_with(uow, event)
    customer = _customer(uow, customer_id) if candidates else None
    if customer is None:
        return []
    return [
        invite(uow, survey, customer, trigger=event, source_key=source_key)
        for survey, _t in candidates
    ]


def first_purchase_due(uow, now: datetime) -> dict[str, int]:
    """Invite customers whose first purchase was ``days`` ago (a grace of ``max_event_age_days`` covers
    days the job did not run); each customer is invited once per survey for this trigger."""
    grace = timedelta(days=int(get_setting(uow, "max_event_age_days")) or 1)
    counts = {"invited": 0, "skipped": 0}
    for survey, trigger in _surveys_with(uow, "first_purchase"):
        latest = now - timedelta(days=trigger["days"])
        first = func.min(Interaction.occurred_at)
        rows = (
            uow.session.execute(
                select(Interaction.customer_id)
                .where(Interaction.kind == "purchase")
                .group_by(Interaction.customer_id)
                .having(first <= latest, first > latest - grace)
                .order_by(Interaction.customer_id)
            )
            .scalars()
            .all()
        )
        for customer_id in rows:
            customer = _customer(uow, customer_id)
            if customer is None:
                continue
            decision = invite(
                uow, survey, customer, trigger="first_purchase", source_key="first_purchase"
            )
            counts["invited" if decision.invitation else "skipped"] += 1
    return counts


def on_purchase_batch(uow, interactions) -> list[Decision]:
    """:func:`on_purchase` for an import's batch (:class:`crmcore.api.RecordedInteraction` records):
    the triggers are asked once, stale history is left out, the rest's customers read with one
    query."""
    if not (_surveys_with(uow, "purchase") or _surveys_with(uow, "spend")):
        return []
    recent = [i for i in interactions if i.kind == "purchase" and not _stale(uow, i.occurred_at)]
    if not recent:
        return []
    from sqlalchemy import select

    ids = sorted({i.customer_id for i in recent})
    customers = {c.id: c for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    decisions = []
    for i in recent:
        decisions += on_purchase(uow, i, customers[i.customer_id])
    return decisions
