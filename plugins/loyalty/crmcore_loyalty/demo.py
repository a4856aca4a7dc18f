"""The loyalty part of ``crm demo``: the sample program (Persian), points for the demo's purchase history,
a few redemptions, a refund reversal, and the expiry job."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import func, select

from crmcore.api import Interaction, record_interaction

from .batch import accrue_many
from .check import check_ledger
from .jobs import run_expiry
from .ledger import balance
from .models import LoyaltyEntry
from .programs import load_program
from .rewards import redeem_reward


def seed(uow, customers, rng) -> list[str]:
    text = (
        resources.files("crmcore_loyalty.examples")
        .joinpath("program.toml")
        .read_text(encoding="utf-8")
    )
    program, _ = load_program(uow, text, source_name="program.toml")
    by_id = {c.id: c for c in customers}
    purchases = list(
        uow.session.scalars(
            select(Interaction)
            .where(Interaction.kind == "purchase", Interaction.customer_id.in_(list(by_id)))
            .order_by(Interaction.occurred_at, Interaction.id)
        )
    )
    accrue_many(
        uow, purchases
    )  # history recorded before the program existed earns now, in time order
    redeemed = 0
    for c in rng.sample(customers, k=min(12, len(customers))):
        points = balance(uow, c.id)
        if points >= program.rewards["off10"].cost:
            redeem_reward(uow, c.id, "off10", key=f"demo:{c.id}:off10")
            redeemed += 1
        elif points >= program.rewards["free-tea"].cost:
            redeem_reward(uow, c.id, "free-tea", key=f"demo:{c.id}:tea")
            redeemed += 1
    refunded = rng.choice(purchases)
    record_interaction(
        uow,
        by_id[refunded.customer_id],
        kind="refund",
        amount=str(refunded.amount_minor // 2),
        currency=refunded.currency,
        related_id=refunded.id,
        payload={"note": "مرجوعی نیمی از سفارش"},
    )
    expiry = run_expiry(uow, uow.now())
    result = check_ledger(uow)
    earned = uow.session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(LoyaltyEntry.kind == "earn")
    )
    members = uow.session.scalar(select(func.count(func.distinct(LoyaltyEntry.customer_id))))
    return [
        f"loyalty: program «{program.name}» v{program.version}; {int(earned):,} points earned by {members} members "
        f"from {len(purchases)} purchases",
        f"loyalty: {redeemed} rewards redeemed, {expiry['points_expired']:,} points expired, "
        f"{expiry['expiry_notices']} expiry notices; ledger check: "
        + ("ok" if not result["problems"] else f"{len(result['problems'])} problems"),
    ]
