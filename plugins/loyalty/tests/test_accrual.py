from datetime import datetime, timezone

import pytest
from crmcore_loyalty import api
from crmcore_loyalty.check import check_ledger
from crmcore_loyalty.testing import balance, kinds, load, load_base

from crmcore.api import PluginHookError, get_customer, record_interaction
from crmcore.testing import make_customer, record_purchase

LINES = {
    "lines": [
        {"sku": "TEA-01", "category": "tea", "quantity": 2, "amount": "300000"},
        {"sku": "SAF-05", "category": "spice", "quantity": 1, "amount": "700000"},
    ]
}


def refund(app, cid, purchase, amount, lines=None):
    return record_purchase(
        app,
        cid,
        amount,
        kind="refund",
        related_id=purchase,
        payload={"lines": lines} if lines else None,
    )


def test_purchase_earns_one_point_per_10000_rounded_down_and_records_the_program_version(crm_app):
    load_base(crm_app)
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "129999")
    assert kinds(crm_app, cid) == [("earn", 12)]
    with crm_app.unit_of_work(readonly=True) as uow:
        entry = api.ledger(uow, cid)[0]
        assert (
            entry.interaction_id == pid
            and entry.program_version == 1
            and entry.key == f"accrual:{pid}"
        )
        lot = api.lots(uow, cid)[0]
        assert lot.expires_at == datetime(
            2026, 3, 21, 9, 0, tzinfo=timezone.utc
        )  # 12 months after now


def test_no_program_no_points_and_other_currencies_do_not_earn(crm_app):
    cid = make_customer(crm_app)
    record_purchase(crm_app, cid, "500000")
    load_base(crm_app)
    record_purchase(crm_app, cid, "50", currency="USD")
    assert balance(crm_app, cid) == 0


def test_redelivered_purchase_event_earns_nothing_twice(crm_app):
    load_base(crm_app)
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "100000")
    from crmcore_loyalty.accrual import accrue_purchase

    from crmcore.api import Interaction

    with crm_app.unit_of_work() as uow:
        interaction = uow.session.get(Interaction, pid)
        customer = get_customer(uow.session, cid)
        uow.call("crm_interaction_recorded", interaction=interaction, customer=customer)
        accrue_purchase(uow, interaction, customer)
    assert kinds(crm_app, cid) == [("earn", 10)]


def test_full_refund_reverses_everything_partial_refund_by_line(crm_app):
    load_base(
        crm_app,
        extra="""
[[rules]]
name = "saffron"
kind = "per_sku"
skus = ["SAF-05"]
points = 5
per = "100000"
[[rules]]
name = "welcome"
kind = "first_purchase"
points = 50
""",
    )
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "1000000", payload=LINES)
    # base 100 (30 on tea, 70 on saffron) + saffron 35 + welcome 50
    assert kinds(crm_app, cid) == [("earn", 185)]
    refund(crm_app, cid, pid, "700000", lines=[{"sku": "SAF-05", "amount": "700000"}])
    assert kinds(crm_app, cid)[-1] == (
        "reverse",
        -105,
    )  # 70 base + 35 saffron; the welcome bonus stays
    refund(crm_app, cid, pid, "150000", lines=[{"sku": "TEA-01", "amount": "150000"}])
    assert kinds(crm_app, cid)[-1] == ("reverse", -15)
    refund(crm_app, cid, pid, "150000")  # the rest, without lines: everything left
    assert kinds(crm_app, cid)[-1] == ("reverse", -65)
    assert balance(crm_app, cid) == 0
    with crm_app.unit_of_work(readonly=True) as uow:
        assert check_ledger(uow)["problems"] == []


def test_refund_of_an_unknown_line_is_refused_and_nothing_is_stored(crm_app):
    load_base(crm_app)
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "1000000", payload=LINES)
    with pytest.raises(PluginHookError, match="no line with SKU 'XXX'"):
        refund(crm_app, cid, pid, "1000", lines=[{"sku": "XXX", "amount": "1000"}])
    assert kinds(crm_app, cid) == [("earn", 100)]


@pytest.mark.parametrize(
    "policy, after_refund, then_earn",
    [
        ("allow_negative", [("reverse", -100)], -80 + 30),
        ("clawback", [("reverse", -20)], 0 + 30 - 30),
        ("absorb", [("reverse", -20)], 30),
    ],
)
def test_buy_redeem_refund_never_keeps_the_points(crm_app, policy, after_refund, then_earn):
    load_base(crm_app, policy)
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "1000000")
    with crm_app.unit_of_work() as uow:
        api.debit(uow, cid, 80, kind="redeem", reason="gift")
    refund(crm_app, cid, pid, "1000000")
    assert kinds(crm_app, cid)[2:] == after_refund
    with crm_app.unit_of_work(readonly=True) as uow:
        account = uow.session.get(api.LoyaltyAccount, cid)
        recorded = {
            "allow_negative": account.deficit,
            "clawback": account.owed,
            "absorb": account.absorbed,
        }[policy]
        assert recorded == 80  # the 80 points already spent are accounted for, never silently lost
    record_purchase(crm_app, cid, "300000")
    assert balance(crm_app, cid) == then_earn
    if policy == "clawback":
        assert kinds(crm_app, cid)[-2:] == [("earn", 30), ("clawback", -30)]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert check_ledger(uow)["problems"] == []


def test_stacking_priority_exclusive_and_multiplier_dates(crm_app):
    load(
        crm_app,
        """
[program]
expiry = "never"
[[rules]]
name = "spice-promo"
kind = "per_category"
categories = ["spice"]
points = 3
per = "100000"
priority = 1
stacking = "exclusive"
[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"
priority = 5
[[rules]]
name = "double"
kind = "multiplier"
factor = "1.5"
starts = "2025-03-20"
ends = "2025-03-21"
""",
    )
    cid = make_customer(crm_app)
    record_purchase(
        crm_app, cid, "1000000", payload=LINES
    )  # spice promo fires (21 × 1.5 = 31), base excluded
    record_purchase(crm_app, cid, "100000")  # no spice: base 10 × 1.5
    crm_app.clock.advance(days=1)
    record_purchase(crm_app, cid, "100000")  # multiplier over
    assert kinds(crm_app, cid) == [("earn", 31), ("earn", 15), ("earn", 10)]


def test_caps_per_purchase_and_per_month(crm_app):
    load(
        crm_app,
        """
[caps]
per_purchase = 40
per_period = 60
[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"
""",
    )
    cid = make_customer(crm_app)
    for _ in range(3):
        record_purchase(crm_app, cid, "1000000")
    assert kinds(crm_app, cid) == [("earn", 40), ("earn", 20)]


def test_birthday_month_in_the_jalali_calendar(crm_app):
    load(
        crm_app,
        """
[[rules]]
name = "birthday"
kind = "birthday_month"
points = 300
""",
    )
    # now is 2025-03-21 = 1404-01-01 (Farvardin)
    born_farvardin = make_customer(crm_app, "سارا", birthday="1370-01-15")
    born_mehr = make_customer(crm_app, "رضا", birthday="1370-07-15")
    record_purchase(crm_app, born_farvardin, "10000")
    record_purchase(crm_app, born_mehr, "10000")
    assert balance(crm_app, born_farvardin) == 300 and balance(crm_app, born_mehr) == 0


def test_spending_threshold_grants_a_voucher_and_refunds_set_progress_back(crm_app):
    load(
        crm_app,
        """
[[rules]]
name = "every-500k"
kind = "threshold"
every = "500000"
reward = "free-tea"
[[rewards]]
code = "free-tea"
kind = "free_item"
sku = "TEA-01"
cost = 0
""",
    )
    from crmcore_loyalty.rewards import customer_vouchers

    cid = make_customer(crm_app)
    p1 = record_purchase(crm_app, cid, "300000")
    record_purchase(crm_app, cid, "800000")  # 1,100,000 spent: two vouchers
    with crm_app.unit_of_work(readonly=True) as uow:
        assert [v.sku for v in customer_vouchers(uow, cid)] == ["TEA-01", "TEA-01"]
    refund(
        crm_app, cid, p1, "300000"
    )  # 800,000 counted now: progress 800,000 - 1,000,000 = -200,000
    record_purchase(crm_app, cid, "600000")  # 400,000: no new voucher
    with crm_app.unit_of_work(readonly=True) as uow:
        assert len(customer_vouchers(uow, cid)) == 2


def test_earning_multiplier_hook_from_another_plugin(crm_app_factory):
    from decimal import Decimal

    from crmcore.api import hookimpl

    class Gold:
        @hookimpl
        def loyalty_earning_multiplier(self, uow, customer, interaction):
            return Decimal("1.5")

    app = crm_app_factory(extra_plugins=[("gold", Gold(), None)])
    load_base(app)
    cid = make_customer(app)
    record_purchase(app, cid, "170000")
    assert kinds(app, cid) == [("earn", 25)]  # floor(17 × 1.5)


def test_purchase_and_refund_in_one_unit_of_work_and_reads_see_queued_purchases(crm_app):
    load_base(crm_app)
    cid = make_customer(crm_app)
    with crm_app.unit_of_work() as uow:
        c = get_customer(uow.session, cid)
        p = record_interaction(uow, c, kind="purchase", amount="500000", currency="IRR")
        assert api.balance(uow, cid) == 50  # the queued purchase is accrued before the read
        record_interaction(uow, c, kind="purchase", amount="200000", currency="IRR")
        record_interaction(uow, c, kind="refund", amount="500000", currency="IRR", related_id=p.id)
    assert kinds(crm_app, cid) == [("earn", 50), ("earn", 20), ("reverse", -50)]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert check_ledger(uow)["problems"] == []


def test_a_member_with_points_owed_settles_them_from_the_next_purchases_in_a_batch(crm_app):
    load_base(crm_app, "clawback")
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "1000000")
    with crm_app.unit_of_work() as uow:
        api.debit(uow, cid, 100, kind="redeem", reason="all of it")
    refund(crm_app, cid, pid, "1000000")
    with crm_app.unit_of_work() as uow:
        c = get_customer(uow.session, cid)
        for amount in ("600000", "600000"):
            record_interaction(uow, c, kind="purchase", amount=amount, currency="IRR")
    assert kinds(crm_app, cid)[3:] == [
        ("earn", 60),
        ("clawback", -60),
        ("earn", 60),
        ("clawback", -40),
    ]
    assert balance(crm_app, cid) == 20


def test_accrue_command_backfills_history_once(crm_app, crm_cli):
    cid = make_customer(crm_app)
    record_purchase(crm_app, cid, "300000", at="2024-05-01 10:00")
    record_purchase(crm_app, cid, "100000", at="2024-04-01 10:00")
    r = crm_cli("loyalty", "accrue")
    assert r.exit_code == 1 and "no program is loaded" in r.stderr
    load_base(crm_app, extra="[[rules]]\nname='welcome'\nkind='first_purchase'\npoints=7\n")
    assert crm_cli("loyalty", "accrue").stdout.strip() == "2 purchases accrued"
    assert crm_cli("loyalty", "accrue").stdout.strip() == "0 purchases accrued"
    assert kinds(crm_app, cid) == [
        ("earn", 17),
        ("earn", 30),
    ]  # time order; the April purchase was the first


def test_merging_customers_moves_points_with_their_expiry(crm_app):
    from crmcore.api import merge_customers

    load_base(crm_app)
    kept = make_customer(crm_app, "علی رضایی")
    merged = make_customer(crm_app, "علي رضايي")
    record_purchase(crm_app, kept, "100000")
    crm_app.clock.advance(days=10)
    record_purchase(crm_app, merged, "250000")
    with crm_app.unit_of_work(readonly=True) as uow:
        expiry = api.lots(uow, merged)[0].expires_at
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, kept, merged)
    assert kinds(crm_app, merged)[-1] == ("merge_out", -25)
    assert kinds(crm_app, kept)[-1] == ("merge_in", 25)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert api.balance(uow, kept) == 35 and api.balance(uow, merged) == 0
        assert sorted(lot.expires_at for lot in api.lots(uow, kept))[-1] == expiry
        assert check_ledger(uow)["problems"] == []
