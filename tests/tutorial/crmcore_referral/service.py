"""Referral rewards, written through loyalty's public API only."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import Customer, Interaction, ValidationError

POINTS = 500
KIND = "referral"


def referrer_of(customer: Customer) -> int | None:
    return (customer.attributes or {}).get("referred_by")


def check_referrer(uow, customer: Customer, referrer_id) -> list[str]:
    if referrer_id is None:
        return []
    referrer = uow.session.get(Customer, int(referrer_id))
    if referrer is None or not referrer.active:
        return [f"referred_by: no active customer with id {referrer_id}"]
    if customer.id is not None and referrer.id == customer.id:
        return ["referred_by: a customer cannot refer themselves"]
    return []


def is_first_purchase(uow, interaction) -> bool:
    earlier = uow.session.scalar(
        select(func.count(Interaction.id)).where(
            Interaction.customer_id == interaction.customer_id,
            Interaction.kind == "purchase",
            Interaction.id != interaction.id,
            Interaction.occurred_at <= interaction.occurred_at,
        )
    )
    return earlier == 0


def reward(uow, newcomer: Customer) -> int | None:
    """Credit the referrer once per newcomer (the idempotency key makes a re-delivered event harmless)."""
    from crmcore_loyalty import api as loyalty

    referrer_id = referrer_of(newcomer)
    if referrer_id is None:
        return None
    referrer = uow.session.get(Customer, referrer_id)
    if referrer is None or not referrer.active:
        raise ValidationError(
            f"the referrer {referrer_id} of customer {newcomer.id} is gone", field="referred_by"
        )
    loyalty.credit(
        uow,
        referrer.id,
        POINTS,
        kind=KIND,
        reason=f"brought customer {newcomer.id}",
        key=f"referral:{newcomer.id}",
        ref=f"customer:{newcomer.id}",
    )
    uow.emit(
        "referral_rewarded",
        customer_id=referrer.id,
        data={"referrer": referrer.id, "newcomer": newcomer.id, "points": POINTS},
        referrer=referrer,
        newcomer=newcomer,
        points=POINTS,
    )
    return POINTS


def referrals(uow, customer_id: int) -> dict:
    from crmcore_loyalty import api as loyalty

    rewarded = [e for e in loyalty.ledger(uow, customer_id) if e.kind == KIND]
    return {"rewarded_referrals": len(rewarded), "points": sum(e.points for e in rewarded)}
