"""The tiers part of ``crm demo``: the sample ladder (Persian titles) added to the demo's loyalty program, the
members enrolled from their purchase history, one live upgrade, and an evaluation."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from importlib import resources

from sqlalchemy import func, select

from crmcore.api import Customer, record_interaction

from .evaluation import at_risk, evaluate
from .models import TierMember
from .qualify import Measurer, progress
from .service import currency_of, ladder_of


def _ladder_text() -> str:
    return (
        resources.files("crmcore_tiers.examples")
        .joinpath("ladder.toml")
        .read_text(encoding="utf-8")
    )


def seed(uow, customers, rng) -> list[str]:
    import tomli_w
    from crmcore_loyalty import api as loyalty

    load = getattr(loyalty, "load_program", None)
    if load is None:
        return [
            "tiers: skipped — this loyalty version has no api.load_program to add the demo ladder; "
            "append crmcore_tiers/examples/ladder.toml to the program file and run `crm tiers evaluate`"
        ]
    config = dict(loyalty.active_program(uow).config)
    config["tiers"] = tomllib.loads(_ladder_text())["tiers"]
    program, _ = load(uow, tomli_w.dumps(config), source_name="program+tiers.toml")
    ladder = ladder_of(uow)
    summary = evaluate(uow)
    # a live upgrade: the Silver member closest to Gold buys enough saffron to cross the threshold
    currency = currency_of(uow)
    silver = list(uow.session.scalars(select(TierMember).where(TierMember.tier == "silver")))
    upgraded = ""
    if silver:
        gold = ladder.get("gold")

        def gap(member):
            return progress(
                ladder,
                gold,
                Measurer(uow, member.customer_id, currency, uow.app.timezone),
                uow.now(),
            )[0]["needed"]

        member = min(silver, key=gap)
        # members include customers other plugins' demos added (leads converted, deals won)
        customer = uow.session.get(Customer, member.customer_id)
        points = gap(member)
        amount = (points + 10) * 10_000
        record_interaction(
            uow,
            customer,
            kind="purchase",
            channel="store",
            amount=str(amount),
            currency="IRR",
            occurred_at=uow.now() - timedelta(minutes=5),
            payload={
                "lines": [
                    {"sku": "SAF-05", "title": "زعفران", "quantity": 1, "amount": str(amount)}
                ]
            },
        )
        loyalty.balance(uow, customer.id)  # accrue now: the upgrade follows the points
        upgraded = f"; {customer.display_name} reached Gold with a live purchase"
    counts = dict(
        uow.session.execute(select(TierMember.tier, func.count()).group_by(TierMember.tier)).all()
    )
    shown = "، ".join(
        f"{counts.get(t.name, 0)} {t.title_fa or t.title}" for t in reversed(ladder.tiers)
    )
    risky = at_risk(uow)
    return [
        f"tiers: ladder {' / '.join(t.title_fa or t.title for t in ladder.tiers)} in program v{program.version}; "
        f"{summary['enrolled']} members enrolled — {shown}{upgraded}",
        f"tiers: {len(risky)} members will be downgraded within their notice period unless they buy more",
    ]
