from datetime import date, datetime, timezone

import pytest
from crmcore_loyalty import api
from crmcore_loyalty.jobs import run_expiry
from crmcore_loyalty.testing import balance, kinds, load

from crmcore.api import ValidationError, hookimpl
from crmcore.testing import make_customer, outbox_events

REWARDS = """
[program]
point_value = "1000"
expiry = "30 days"
expiry_warning_days = 7
[[rewards]]
code = "mug"
kind = "free_item"
sku = "MUG"
cost = 100
per_customer_limit = 1
global_limit = 2
[[rewards]]
code = "pay"
kind = "points_payment"
min_points = 50
valid_days = 7
"""


def give(app, cid, points):
    with app.unit_of_work() as uow:
        api.credit(uow, cid, points, kind="adjust", reason="test")


def redeem(app, cid, code, **kw):
    with app.unit_of_work() as uow:
        r = api.redeem(uow, cid, code, **kw)
        return r, api.voucher_of(uow, r)


def test_per_member_and_global_limits(crm_app):
    load(crm_app, REWARDS)
    a, b, c = (make_customer(crm_app, n) for n in ("الف", "ب", "ج"))
    for cid in (a, b, c):
        give(crm_app, cid, 500)
    redeem(crm_app, a, "mug")
    with pytest.raises(ValidationError, match="already redeemed 'mug' 1 time"):
        redeem(crm_app, a, "mug")
    redeem(crm_app, b, "mug")
    with pytest.raises(ValidationError, match="sold out"):
        redeem(crm_app, c, "mug")
    assert (balance(crm_app, a), balance(crm_app, b), balance(crm_app, c)) == (400, 400, 500)


def test_paying_with_points_issues_a_voucher_worth_the_points(crm_app):
    load(crm_app, REWARDS)
    cid = make_customer(crm_app)
    give(crm_app, cid, 500)
    with pytest.raises(ValidationError, match="at least 50"):
        redeem(crm_app, cid, "pay", points=20)
    r, voucher = redeem(crm_app, cid, "pay", points=300, key="pos-1")
    assert (
        voucher.amount_minor == 300_000
        and voucher.currency == "IRR"
        and voucher.code.startswith("LY-")
    )
    again, _ = redeem(
        crm_app, cid, "pay", points=300, key="pos-1"
    )  # the till retried: nothing twice
    assert again.id == r.id and balance(crm_app, cid) == 200
    assert [e["event"] for e in outbox_events(crm_app, "loyalty_reward_redeemed")] == [
        "loyalty_reward_redeemed"
    ]


def test_expiry_job_expires_due_lots_announces_soon_once_and_is_idempotent(crm_app_factory):
    seen = []

    class Listener:
        @hookimpl
        def loyalty_points_expiring(self, uow, customer, points, expires_on):
            seen.append((customer.id, points, expires_on))

    app = crm_app_factory(extra_plugins=[("listener", Listener(), None)])
    load(app, REWARDS)
    cid = make_customer(app)
    give(app, cid, 100)  # expires in 30 days
    app.clock.advance(days=10)
    give(app, cid, 40)  # expires in 40 days from the start
    with app.unit_of_work() as uow:
        api.debit(uow, cid, 30, kind="redeem", reason="spend")  # from the soonest-expiring lot
    app.clock.advance(days=15)  # day 25: the first lot (70 left) expires within 7 days
    for _ in range(2):
        with app.unit_of_work() as uow:
            summary = run_expiry(uow, uow.now())
    assert seen == [(cid, 70, date(2025, 4, 20))]
    app.clock.advance(days=6)  # day 31: the first lot is due
    with app.unit_of_work() as uow:
        summary = run_expiry(uow, uow.now())
    assert summary["points_expired"] == 70 and balance(app, cid) == 40
    with app.unit_of_work() as uow:
        assert run_expiry(uow, uow.now())["points_expired"] == 0
        expired = api.ledger(uow, cid)[-1]
        assert expired.kind == "expire" and [(p, exp) for _lot, p, exp in expired.consumed] == [
            (70, datetime(2025, 4, 20, 9, 0, tzinfo=timezone.utc))
        ]
    assert kinds(app, cid)[-1] == ("expire", -70)


def test_end_of_jalali_year_expiry(crm_app):
    load(crm_app, '[program]\nexpiry = "end_of_year"\ncalendar = "jalali"\n')
    cid = make_customer(crm_app)
    give(crm_app, cid, 10)  # now is 1404-01-01 09:00 UTC: expires at Nowruz 1405, local midnight
    with crm_app.unit_of_work(readonly=True) as uow:
        lot = api.lots(uow, cid)[0]
    assert lot.expires_at == datetime(2026, 3, 20, 20, 30, tzinfo=timezone.utc)
