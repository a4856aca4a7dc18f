from datetime import date

from crmcore.api import ReportParams
from crmcore.reports import run_report
from crmcore.testing import make_customer, record_purchase


def run(app, name, **params):
    with app.unit_of_work(readonly=True) as uow:
        return run_report(uow, name, ReportParams(**params))


def test_sales_by_jalali_month_uses_tehran_local_time(crm_app):
    cid = make_customer(crm_app)
    # 1403-06-31 23:30 Tehran is 1403-06-31 20:00 UTC: still Shahrivar
    record_purchase(crm_app, cid, 1_000_000, at="1403-06-31 23:30")
    # 1403-07-01 00:30 Tehran is 2024-09-21 21:00 UTC of the previous Gregorian day: already Mehr
    record_purchase(crm_app, cid, 2_500_000, at="1403-07-01 00:30")
    p = record_purchase(crm_app, cid, 4_000_000, at="1403-07-20 12:00")
    record_purchase(crm_app, cid, 1_500_000, at="1403-07-21 12:00", kind="refund", related_id=p)
    record_purchase(crm_app, cid, "19.99", currency="USD", at="2024-10-10")
    result = run(crm_app, "sales.by_period", period="jalali_month", calendar="jalali")
    assert result["rows"] == [
        ["1403-06", "IRR", 1, "1000000", 0, "0", "1000000"],
        ["1403-07", "IRR", 2, "6500000", 1, "1500000", "5000000"],
        ["1403-07", "USD", 1, "19.99", 0, "0.00", "19.99"],
    ]
    assert result["totals"]["by_currency"]["IRR"] == {
        "purchases": 3,
        "amount": "7500000",
        "refunds": 1,
        "refunded": "1500000",
        "net": "6000000",
    }
    monthly = run(crm_app, "sales.by_period", period="month")
    assert [r[0] for r in monthly["rows"]] == ["2024-09", "2024-10", "2024-10"]
    ranged = run(
        crm_app, "sales.by_period", period="month", start=date(2024, 9, 22), end=date(2024, 10, 31)
    )
    assert ranged["totals"]["by_currency"]["IRR"]["purchases"] == 2


def test_weeks_start_on_saturday_in_the_jalali_calendar(crm_app):
    cid = make_customer(crm_app)
    record_purchase(crm_app, cid, 100, at="2024-10-04 12:00")  # Friday
    record_purchase(crm_app, cid, 200, at="2024-10-05 12:00")  # Saturday: a new Iranian week
    rows = run(crm_app, "sales.by_period", period="week", calendar="jalali")["rows"]
    assert [(r[0], r[3]) for r in rows] == [("1403-07-07", "100"), ("1403-07-14", "200")]
    iso = run(crm_app, "sales.by_period", period="week")["rows"]
    assert [(r[0], r[3]) for r in iso] == [("2024-09-30", "300")]


def test_customers_summary_counts(crm_app):
    a = make_customer(crm_app, "a")
    make_customer(crm_app, "b")
    record_purchase(crm_app, a, 100)
    record_purchase(crm_app, a, 100)
    result = run(crm_app, "customers.summary")
    assert result["rows"] == [["purchase", 2]]
    assert result["totals"] == {"customers": 2, "interactions": 2}


def test_retention_counts_last_years_buyers_who_bought_again_in_the_last_12_months(crm_app):
    a, b, c, d = (make_customer(crm_app, name) for name in ("الف", "ب", "پ", "ت"))
    record_purchase(crm_app, a, 1_000, at="2023-06-01 10:00")
    record_purchase(crm_app, a, 1_000, at="2024-06-01 10:00")  # retained
    record_purchase(crm_app, b, 1_000, at="2023-09-01 10:00")  # lost
    record_purchase(crm_app, c, 1_000, at="2024-10-01 10:00")  # new this year: not in the base
    record_purchase(
        crm_app, d, 1_000, at="2022-01-01 10:00"
    )  # bought two years ago: not in the base
    record_purchase(crm_app, d, 1_000, at="2024-05-01 10:00")
    record_purchase(
        crm_app, a, 1_000, at="2024-03-21 23:00", kind="refund"
    )  # refunds are not purchases
    result = run(crm_app, "customers.retention")  # the clock stands at 2025-03-21
    assert result["rows"] == [["2024-03-22", "2025-03-21", 2, 1, "50.0"]]
    assert result["totals"]["benchmarks_pct"] == {
        "retail": 63,
        "it_services": 81,
        "professional_services": 84,
    }
    ranged = run(crm_app, "customers.retention", start=date(2024, 7, 1), end=date(2025, 3, 21))
    # the year before 2024-07-01 holds a, b and d; none of them bought after it
    assert ranged["totals"]["customers_before"] == 3 and ranged["totals"]["bought_again"] == 0
    assert ranged["totals"]["retention_pct"] == "0.0"
