"""Issue 34: amounts in the currency's major unit, lots past expiry neither counted nor spent before
the job runs, clear refusals for a negative earn and a past expiry, a summarised balance."""

from datetime import timedelta

from crmcore_loyalty import api
from crmcore_loyalty.testing import balance, kinds, load

from crmcore.testing import make_customer

USD = """
[program]
name = "usd"
currency = "USD"
calendar = "gregorian"
expiry = "30 days"
[[rules]]
name = "per-dollar"
kind = "per_amount"
points = 1
per = "1"
[[rules]]
name = "ten"
kind = "threshold"
every = "50"
reward = "mug"
[[rewards]]
code = "mug"
kind = "free_item"
sku = "MUG"
cost = 10
"""


def test_usd_amounts_are_shown_in_dollars(crm_app, crm_cli):
    load(crm_app, USD)
    cid = make_customer(crm_app, "Ann")
    shown = crm_cli("loyalty", "program", "show").stdout
    assert "1 per 1.00 USD" in shown and "every 50.00 USD spent → mug" in shown
    sim = crm_cli("loyalty", "simulate", str(cid), "--amount", "75.50").stdout
    assert "a purchase of 75.50 USD would earn 75 points" in sim
    assert "amount 75.50 USD: 75 × 1 point(s) per 1.00 USD" in sim
    assert "then 25.50 USD of 50.00 USD" in sim
    assert "7,550" not in sim


def test_expired_lots_neither_count_nor_spend_before_the_job(crm_app, crm_cli):
    load(crm_app, USD)
    cid = make_customer(crm_app, "Ann")
    with crm_app.unit_of_work() as uow:
        api.credit(
            uow, cid, 40, kind="earn", reason="old", expires_at=uow.now() + timedelta(days=1)
        )
        api.credit(uow, cid, 5, kind="earn", reason="new", expires_at=None)
    crm_app.clock.advance(days=2)
    assert balance(crm_app, cid) == 5
    assert crm_cli("loyalty", "balance", str(cid), "--json").json()["balance"] == 5
    summary = crm_cli("reports", "run", "loyalty.summary", "--json").json()
    assert summary["totals"]["outstanding"] == 5
    refused = crm_cli("loyalty", "redeem", str(cid), "mug")
    assert refused.exit_code == 1 and "has 5 points; cannot take 10" in refused.stderr
    assert [k for k, _ in kinds(crm_app, cid)] == ["earn", "earn"]  # refused: nothing written
    assert crm_cli("loyalty", "adjust", str(cid), "-5", "--reason", "fix").exit_code == 0
    assert kinds(crm_app, cid)[-2:] == [("expire", -40), ("adjust", -5)]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert api.lots(uow, cid) == []


def test_negative_earn_and_past_expiry_are_refused_in_one_line(crm_app, crm_cli):
    load(crm_app, USD)
    cid = make_customer(crm_app, "Ann")
    negative = crm_cli("loyalty", "earn", str(cid), "-50", "--reason", "x")
    assert negative.exit_code == 1
    assert "crm loyalty adjust CUSTOMER -50" in negative.stderr
    past = crm_cli("loyalty", "earn", str(cid), "50", "--reason", "x", "--expires", "2020-01-01")
    assert past.exit_code == 1 and "field expires: the expiry is in the past" in past.stderr
    assert kinds(crm_app, cid) == []


def test_balance_summarises_lots_and_lists_them_on_request(crm_app, crm_cli):
    load(crm_app, USD)
    cid = make_customer(crm_app, "Ann")
    with crm_app.unit_of_work() as uow:
        for day in range(1, 8):
            api.credit(
                uow,
                cid,
                10 * day,
                kind="earn",
                reason="d",
                expires_at=uow.now() + timedelta(days=day),
            )
    text = crm_cli("loyalty", "balance", str(cid)).stdout.splitlines()
    assert text[0].endswith(": 280 points") and len(text) == 5
    assert "220  later, in 4 more lots (--lots lists them all)" in text[-1]
    assert len(crm_cli("loyalty", "balance", str(cid), "--lots").stdout.splitlines()) == 8
    assert len(crm_cli("loyalty", "balance", str(cid), "--json").json()["lots"]) == 7


def test_voucher_show_reads_as_a_sentence_with_money_in_dollars(crm_app, crm_cli):
    load(
        crm_app,
        USD
        + """
[[rewards]]
code = "five"
kind = "fixed_discount"
amount = "5.50"
cost = 20
valid_days = 10
""",
    )
    cid = make_customer(crm_app, "Ann")
    with crm_app.unit_of_work() as uow:
        api.credit(uow, cid, 30, kind="earn", reason="x")
        code = api.voucher_of(uow, api.redeem(uow, cid, "five")).code
    text = crm_cli("loyalty", "vouchers", "show", code).stdout
    assert text.startswith(f"{code}: five (5.50 USD off) for customer {cid}, active")
    assert "valid until" in text and "=" not in text
