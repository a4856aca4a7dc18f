"""A referral graph over real customers (CDNOW): the rewards the plugin gives while the purchase history is
recorded equal an independent computation from the raw file."""

import random
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import jdatetime
import pytest
from crmcore_loyalty.testing import cdnow_path, cdnow_rows
from crmcore_referrals import program, service
from crmcore_referrals.models import ReferralReward
from sqlalchemy import select

from crmcore.api import Customer, add_customer, get_customer, record_interaction

CUSTOMERS = 400
RULES = """
[program]
name = "CDNOW friends"
levels = 2
[qualify]
event = "first_purchase"
min_amount = "15"
currency = "USD"
[rewards]
referrer = [100, 20]
friend = 30
monthly_cap = 2
"""


def graph(customers: list[str], seed: int = 7) -> dict[str, str]:
    """``{friend: referrer}``: about a third of the customers were brought by an earlier one."""
    rng = random.Random(seed)
    return {
        c: rng.choice(customers[:i])
        for i, c in enumerate(customers)
        if i > 0 and rng.random() < 0.35
    }


def expected_rewards(rows, referrer_of: dict[str, str]) -> list[tuple[str, str, int, int, str]]:
    """The program computed from the file alone: purchases in date order (file order on ties); a friend's
    first purchase of at least $15 qualifies once; the friend gets 30, the referrer 100 and the referrer's
    referrer 20, except that a referrer rewarded for 2 friends in a Jalali month gets nothing more that
    month (recorded as capped)."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    done: set[str] = set()
    used: dict[tuple[str, str], int] = {}
    out = []
    for i in order:
        cust, day, _cds, dollars = rows[i]
        if cust not in referrer_of or cust in done or Decimal(dollars) < 15:
            continue
        done.add(cust)
        j = jdatetime.date.fromgregorian(date=date(int(day[:4]), int(day[4:6]), int(day[6:])))
        month = f"{j.year:04d}-{j.month:02d}"
        out.append((cust, "friend", 0, 30, "earned"))
        chain = [referrer_of[cust]]
        if chain[0] in referrer_of:
            chain.append(referrer_of[chain[0]])
        for level, who in enumerate(chain, 1):
            if used.get((who, month), 0) >= 2:
                out.append((who, "referrer", level, 0, "capped"))
                continue
            used[(who, month)] = used.get((who, month), 0) + 1
            out.append((who, "referrer", level, (100, 20)[level - 1], "earned"))
    return out


@pytest.mark.skipif(cdnow_path() is None, reason="shared/data/cdnow is not beside the repository")
def test_cdnow_referral_rewards_equal_an_independent_computation(crm_app):
    rows = cdnow_rows(cdnow_path(), CUSTOMERS)
    customers = sorted({r[0] for r in rows})
    referrer_of = graph(customers)
    crm_app.clock.set(datetime(1996, 12, 1, tzinfo=timezone.utc))  # they join before buying
    ids: dict[str, int] = {}
    with crm_app.unit_of_work() as uow:
        program.load(uow, RULES)
        for ext in customers:
            ids[ext] = add_customer(uow, name=f"CDNOW {ext}", external_id=f"cdnow-{ext}").id
        for friend, referrer in referrer_of.items():
            service.attach(
                uow,
                get_customer(uow.session, ids[friend]),
                service.code_of(uow, ids[referrer]),
                source="import",
            )
    crm_app.clock.set(datetime(1999, 1, 1, tzinfo=timezone.utc))  # the history is recorded later
    zone = ZoneInfo("Asia/Tehran")
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    for start in range(0, len(order), 500):
        with crm_app.unit_of_work() as uow:
            for i in order[start : start + 500]:
                cust, day, cds, dollars = rows[i]
                at = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), 12, 0, tzinfo=zone)
                record_interaction(
                    uow,
                    uow.session.get(Customer, ids[cust]),
                    kind="purchase",
                    amount=dollars,
                    currency="USD",
                    occurred_at=at,
                    external_id=f"cdnow-{i}",
                )
    by_id = {v: k for k, v in ids.items()}
    with crm_app.unit_of_work(readonly=True) as uow:
        got = [
            (by_id[w.beneficiary_id], w.role, w.level, w.points, w.status)
            for w in uow.session.scalars(select(ReferralReward).order_by(ReferralReward.id))
        ]
    expected = expected_rewards(rows, referrer_of)
    assert got == expected
    assert len(expected) > 150 and any(w[4] == "capped" for w in expected)
