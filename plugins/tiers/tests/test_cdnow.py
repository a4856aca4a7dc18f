"""Replaying the CDNOW purchase history (shared/data/cdnow) through loyalty and tiers gives the tier counts as of
1998-06-30 that an independent computation (below, plain Python over the file) predicts — multipliers included:
a member's purchases earn at the tier their earlier purchases reached, and only the evaluation moves anyone down.

The test replays the complete histories of customers 1–2000 (6,503 purchases; Red, Silver and Gold members,
upgrades and evaluation downgrades all occur among them) to stay within the test budget; ``TIERS_CDNOW_CUSTOMERS=all``
replays all 23,570 customers (69,659 purchases, several minutes), as ``benchmarks/cdnow_replay.py`` does.

Runs on SQLite only: the replay records each purchase through the kernel with a few round trips per purchase,
which over a PostgreSQL connection takes several times longer than the budget allows; the PostgreSQL behaviour of
the same code paths (upgrades, multipliers, evaluation, reports) is covered by the other tests, which run on both.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict, deque
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from tiers_helpers import load_program

from crmcore.api import Customer, ReportParams, record_interaction, utcnow

AS_OF = date(1998, 6, 30)
MULTIPLIER = {0: Decimal(1), 1: Decimal("1.5"), 2: Decimal(2)}
SILVER, GOLD, WINDOW_DAYS = 300, 1000, 365
PROGRAM = """
[program]
name = "CDNOW replay"
currency = "USD"
calendar = "gregorian"
expiry = "never"

[[rules]]
name = "per-dollar"
kind = "per_amount"
points = 1
per = "1"

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

[[tiers]]
name = "gold"
rank = 2
metric = "points"
threshold = 1000
window = "rolling 365 days"
multiplier = "2"
"""


def cdnow_file() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
        if candidate.exists():
            return candidate
    return None


def customers_replayed() -> int | None:
    value = os.environ.get("TIERS_CDNOW_CUSTOMERS", "2000")
    return None if value == "all" else int(value)


def read_rows(path: Path, max_customer: int | None = None) -> list[tuple[str, date, str]]:
    rows = []
    for line in path.read_text(encoding="ascii").splitlines():
        parts = line.split()
        if (
            len(parts) == 4
            and parts[0].isdigit()
            and (max_customer is None or int(parts[0]) <= max_customer)
        ):
            d = parts[1]
            rows.append((parts[0], date(int(d[:4]), int(d[4:6]), int(d[6:])), parts[3]))
    return rows


def expected(rows) -> tuple[Counter, int, int]:
    """Tier counts as of AS_OF, the number of upgrades and of downgrades, computed from the file alone."""
    by_customer: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for cust, day, dollars in rows:  # file order within a day, as the replay records them
        by_customer[cust].append((day, dollars))
    counts: Counter = Counter()
    upgrades = downgrades = 0
    for purchases in by_customer.values():
        purchases.sort(key=lambda p: p[0])  # stable: same-day purchases keep file order
        tier, recent = 0, deque()
        for day, dollars in purchases:
            points = int(
                (int(Decimal(dollars)) * MULTIPLIER[tier]).to_integral_value(rounding=ROUND_FLOOR)
            )
            recent.append((day, points))
            while recent[0][0] <= day - timedelta(days=WINDOW_DAYS):
                recent.popleft()
            total = sum(p for _d, p in recent)
            reached = 2 if total >= GOLD else 1 if total >= SILVER else 0
            if reached > tier:
                upgrades += 1
                tier = reached
        last_year = sum(p for d, p in recent if d > AS_OF - timedelta(days=WINDOW_DAYS))
        qualified = 2 if last_year >= GOLD else 1 if last_year >= SILVER else 0
        counts[("red", "silver", "gold")[min(tier, qualified)]] += 1
        downgrades += qualified < tier
    return counts, upgrades, downgrades


def replay(app, rows, batch: int = 2500) -> None:
    externals = sorted({r[0] for r in rows})
    ids = {ext: i + 1 for i, ext in enumerate(externals)}
    now = utcnow()
    with app.unit_of_work() as uow:  # customers in bulk (not under test)
        uow.session.execute(
            insert(Customer.__table__),
            [
                {
                    "id": ids[ext],
                    "kind": "person",
                    "display_name": f"CDNOW {ext}",
                    "search_key": f"cdnow {ext}",
                    "external_id": f"cdnow-{ext}",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                    "consent_sms": False,
                    "consent_email": False,
                }
                for ext in externals
            ],
        )
    zone = ZoneInfo("Asia/Tehran")
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    for start in range(0, len(order), batch):
        with app.unit_of_work() as uow:
            cache: dict[int, Customer] = {}
            for i in order[start : start + batch]:
                cust, day, dollars = rows[i]
                cid = ids[cust]
                customer = cache.get(cid) or cache.setdefault(cid, uow.session.get(Customer, cid))
                record_interaction(
                    uow,
                    customer,
                    kind="purchase",
                    amount=dollars,
                    currency="USD",
                    occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=zone),
                    external_id=f"cdnow-{i}",
                )


@pytest.mark.parametrize("crm_backend", ["sqlite"])
def test_cdnow_tier_counts_match_an_independent_computation(crm_app, crm_cli, tmp_path):
    path = cdnow_file()
    if path is None:
        pytest.skip("shared/data/cdnow/CDNOW_master.txt is not beside the repository")
    rows = read_rows(path, customers_replayed())
    want, upgrades, downgrades = expected(rows)
    assert load_program(crm_cli, tmp_path, PROGRAM).exit_code == 0
    replay(crm_app, rows)
    result = crm_cli("tiers", "evaluate", "--as-of", AS_OF.isoformat(), "--json")
    assert result.exit_code == 0, result
    from crmcore.api import run_report

    with crm_app.unit_of_work(readonly=True) as uow:
        members = run_report(uow, "tiers.members", ReportParams(end=AS_OF))
        moves = run_report(uow, "tiers.movements", ReportParams())
    got = {row[0]: row[4] for row in members["rows"]}
    assert got == {"red": want["red"], "silver": want["silver"], "gold": want["gold"]}
    assert sum(got.values()) == len({r[0] for r in rows})
    assert moves["totals"]["up"] == upgrades
    assert moves["totals"]["down"] == result.json()["downgraded"] == downgrades
    gold = crm_cli("customers", "find", "--where", "tier=gold", "--limit", "10000", "--json")
    assert len(gold.json()) == want["gold"]
