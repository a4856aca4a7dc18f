"""Issue 34's "done when": the CDNOW history imported in history mode with loyalty, tiers, lottery
and a ``tier_changed`` SMS trigger sends no message (each withheld upgrade is counted), issues the
"every $50 → a free item" vouchers as of the purchase, already expired, and earns exactly the points
that plain Python over the file computes under the ×1.5 silver rule.

Customers 1–2000 of the file (6,503 purchases) keep it within budget;
``TIERS_CDNOW_CUSTOMERS=all`` imports all 69,659 purchases."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest
from crmcore_loyalty.models import LoyaltyEntry, LoyaltyVoucher
from crmcore_messaging.models import Message
from crmcore_messaging.service import save_template, set_trigger
from sqlalchemy import func, select
from test_cdnow import cdnow_file, customers_replayed
from tiers_helpers import load_program

PROGRAM = """
[program]
name = "CDNOW history"
currency = "USD"
calendar = "gregorian"
expiry = "never"

[[rules]]
name = "per-dollar"
kind = "per_amount"
points = 1
per = "1"

[[rules]]
name = "every-50"
kind = "threshold"
every = "50"
reward = "free-cd"

[[rewards]]
code = "free-cd"
kind = "free_item"
sku = "CD"
cost = 0
valid_days = 30

[[tiers]]
name = "red"
rank = 0

[[tiers]]
name = "silver"
rank = 1
metric = "points"
threshold = 300
window = "rolling 365 days"
multiplier = "1.5"
"""


def independent(lines: list[str]) -> tuple[int, int, dict[str, list[date]]]:
    """Points, upgrades and each customer's voucher days, from the file's lines alone: a purchase
    earns floor(whole dollars × 1.5) once the member's earlier purchases of the last 365 days
    reached 300 points (the crossing purchase itself at ×1); a voucher each time the member's
    spending passes another $50."""
    by_customer: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for line in lines:
        cust, day, _cds, dollars = line.split()
        cents = int(Decimal(dollars) * 100)
        by_customer[cust].append((date(int(day[:4]), int(day[4:6]), int(day[6:])), cents))
    points = upgrades = 0
    vouchers: dict[str, list[date]] = {}
    for cust, purchases in by_customer.items():
        purchases.sort(key=lambda p: p[0])  # stable: a day's purchases in file order
        silver, recent, spent, days = False, deque(), 0, []
        for day, cents in purchases:
            earned = int(
                (Decimal(cents // 100) * (Decimal("1.5") if silver else 1)).to_integral_value(
                    rounding=ROUND_FLOOR
                )
            )
            points += earned
            recent.append((day, earned))
            while recent[0][0] <= day - timedelta(days=365):
                recent.popleft()
            if not silver and sum(p for _d, p in recent) >= 300:
                silver, upgrades = True, upgrades + 1
            days += [day] * ((spent + cents) // 5000 - spent // 5000)
            spent += cents
        vouchers[cust] = days
    return points, upgrades, vouchers


@pytest.mark.slow
@pytest.mark.crm_plugins("loyalty", "tiers", "lottery", "messaging")
def test_cdnow_history_import_sends_nothing_and_earns_the_computed_points(
    crm_app, crm_cli, tmp_path
):
    path = cdnow_file()
    if path is None:
        pytest.skip("shared/data/cdnow/CDNOW_master.txt is not beside the repository")
    limit = customers_replayed()
    header, *rows = path.read_text(encoding="ascii").splitlines()
    lines = [ln for ln in rows if ln.split() and (limit is None or int(ln.split()[0]) <= limit)]
    subset = tmp_path / "cdnow.txt"
    subset.write_text("\n".join([header, *lines]) + "\n", encoding="ascii")
    want_points, want_upgrades, want_vouchers = independent(lines)
    assert load_program(crm_cli, tmp_path, PROGRAM).exit_code == 0
    with crm_app.unit_of_work() as uow:
        save_template(uow, name="up", channel="sms", body="{{ new_tier }}")
        set_trigger(uow, event="tier_changed", template="up", channel="sms")
    result = crm_cli(
        "--timezone",
        "UTC",
        "interactions",
        "import",
        str(subset),
        "--history",
        "--create-customers",
        "--kind",
        "purchase",
        "--currency",
        "USD",
        "--mapping",
        "dollar_value=amount",
        "--json",
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = result.json()
    assert summary["recorded"] == len(lines)
    assert summary["suppressed_messages"] == {"tier_changed": want_upgrades}
    with crm_app.unit_of_work(readonly=True) as uow:
        q = uow.session
        assert q.scalar(select(func.count()).select_from(Message)) == 0
        earned = q.scalar(select(func.sum(LoyaltyEntry.points)).where(LoyaltyEntry.kind == "earn"))
        assert earned == want_points
        vouchers = q.execute(
            select(LoyaltyVoucher.issued_at, LoyaltyVoucher.valid_until, LoyaltyVoucher.status)
        ).all()
    assert len(vouchers) == sum(len(d) for d in want_vouchers.values())
    assert sorted(i.date() for i, _u, _s in vouchers) == sorted(
        d for days in want_vouchers.values() for d in days
    )
    assert all(u - i == timedelta(days=30) and s == "expired" for i, u, s in vouchers)
