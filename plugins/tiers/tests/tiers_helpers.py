"""Programs, purchases and reads shared by the tiers tests. Programs are loaded the way an operator does it:
``crm loyalty program load FILE``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from crmcore.api import Customer, record_interaction
from crmcore.testing import make_customer, record_purchase  # noqa: F401

PROGRAM = """
[program]
name = "club"
currency = "IRR"
calendar = "jalali"
expiry = "never"

[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"
"""

RED = """
[[tiers]]
name = "red"
title_fa = "قرمز"
rank = 0
"""

LADDER = (
    RED
    + """
[[tiers]]
name = "silver"
title_fa = "نقره‌ای"
rank = 1
metric = "points"
threshold = 300
window = "rolling 365 days"
multiplier = "1.5"
discount_percent = 5
perks = ["free delivery"]
{silver_extra}

[[tiers]]
name = "gold"
title_fa = "طلایی"
rank = 2
metric = "points"
threshold = 1000
window = "rolling 365 days"
multiplier = "2"
{gold_extra}
"""
)

_files = count()


def load_program(crm_cli, tmp_path, text: str):
    """Load ``text`` with ``crm loyalty program load``; returns the CLI result."""
    path = tmp_path / f"program-{next(_files)}.toml"
    path.write_text(text, encoding="utf-8")
    return crm_cli("loyalty", "program", "load", str(path))


def load_ladder(
    crm_cli, tmp_path, silver_extra: str = "", gold_extra: str = "", program: str = PROGRAM
):
    result = load_program(
        crm_cli, tmp_path, program + LADDER.format(silver_extra=silver_extra, gold_extra=gold_extra)
    )
    assert result.exit_code == 0, result
    return result


def days_ago(app, days: float) -> datetime:
    return app.clock() - timedelta(days=days)


def buy(app, customer_id: int, rials: int, at: datetime | None = None) -> int:
    return record_purchase(app, customer_id, rials, at=at or app.clock())


def buy_many(app, purchases: list[tuple[int, int, datetime]]) -> list[int]:
    """Several purchases in ONE unit of work (as an import does)."""
    with app.unit_of_work() as uow:
        ids = []
        for cid, rials, at in purchases:
            c = uow.session.get(Customer, cid)
            ids.append(
                record_interaction(
                    uow, c, kind="purchase", amount=str(rials), currency="IRR", occurred_at=at
                ).id
            )
        return ids


def balance(app, cid: int) -> int:
    from crmcore_loyalty import api as loyalty

    with app.unit_of_work(readonly=True) as uow:
        return loyalty.balance(uow, cid)


def earned(app, cid: int) -> list[int]:
    """Points of each earn entry, oldest first."""
    from crmcore_loyalty import api as loyalty

    with app.unit_of_work(readonly=True) as uow:
        return [e.points for e in loyalty.ledger(uow, cid) if e.kind == "earn"]


def tier(app, cid: int) -> str:
    from crmcore_tiers import api

    with app.unit_of_work(readonly=True) as uow:
        return api.tier_of(uow, cid).name


def history(app, cid: int) -> list[tuple[str | None, str, str]]:
    from crmcore_tiers import api

    with app.unit_of_work(readonly=True) as uow:
        return [(c.old_tier, c.new_tier, c.direction) for c in api.history(uow, cid)]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
