"""Imported history (``import_interactions(history=True)``): rewards earned by old purchases are
valid from the purchase's day, and recorded as expired when that validity is already over."""

from datetime import timedelta

from crmcore_loyalty.rewards import customer_vouchers
from crmcore_loyalty.testing import load

from crmcore.testing import import_interactions, make_customer

THRESHOLD = """
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
valid_days = 30
"""


def _import(app, tmp_path, phone, rows, history):
    path = tmp_path / f"{phone}.csv"
    path.write_text(
        "customer,date,amount\n" + "".join(f"{phone},{d},{a}\n" for d, a in rows), encoding="utf-8"
    )
    return import_interactions(app, path, kind="purchase", history=history)


def _vouchers(app, cid):
    with app.unit_of_work(readonly=True) as uow:
        return sorted((v.issued_at, v.valid_until, v.status) for v in customer_vouchers(uow, cid))


def test_history_rewards_run_from_the_purchase_day(crm_app, tmp_path):
    load(crm_app, THRESHOLD)
    now = crm_app.now()
    old, recent = now - timedelta(days=100), now - timedelta(days=10)
    rows = [(old.date().isoformat(), "600000"), (recent.date().isoformat(), "500000")]
    cid = make_customer(crm_app, phones=["09121111111"])
    assert _import(crm_app, tmp_path, "09121111111", rows, history=True).recorded == 2
    (o_issued, o_until, o_status), (r_issued, r_until, r_status) = _vouchers(crm_app, cid)
    assert abs(o_issued - old) < timedelta(days=1) and o_until - o_issued == timedelta(days=30)
    assert o_status == "expired"
    assert abs(r_issued - recent) < timedelta(days=1) and r_status == "active"
    # the same purchases imported as current events: validity runs from today
    other = make_customer(crm_app, "دیگری", phones=["09122222222"])
    _import(crm_app, tmp_path, "09122222222", rows, history=False)
    assert [s for _i, _u, s in _vouchers(crm_app, other)] == ["active", "active"]
