"""Every report on one known data set, with the expected numbers worked out by hand.

The data set (times UTC; Farvardin 1404 = 2025-03-21..04-20, Ordibehesht 1404 starts 2025-04-21):

    deal  lead (source)   owner  amount           stage path (history)                                  end
    D1    L1 website      ali    100,000,000 IRR  lead 03-22, contact 03-25, proforma 04-01,            won 04-20 20:45
                                                  negotiation 04-15                          (= 04-21 00:15 in Tehran)
    D2    L2 website      sara    50,000,000 IRR  lead 03-23, contact 03-30                             lost 04-05
    D3    L3 referral     ali     30,000,000 IRR  lead 04-02, contact 04-22; expected 1404-03-05        open
    D4    —               sara    20,000,001 IRR  lead 04-22, probability 35%; expected 1404-02-25      open
    D5    —               ali     no amount       proforma 04-23                                        open
    D6    —               ali      1,234.50 USD   negotiation 04-24; expected 1404-02-05                open
    D7    L7 campaign     sara       500.00 USD   lead 04-10                                            won 04-12
    L4 referral (disqualified 04-03), L5 exhibition (new, 04-21); reports run at 2025-05-01 09:00 UTC.
"""

from datetime import date, datetime, timezone

import pytest
from crmcore_pipeline import service

from crmcore.api import ReportParams, run_report
from crmcore.testing import make_customer


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def dataset(crm_app):
    clock = crm_app.clock
    c = [make_customer(crm_app, f"مشتری {i}", phones=[f"0912000000{i}"]) for i in range(1, 5)]
    ids = {}

    def step(moment, fn, *args, **kwargs):
        clock.set(moment)
        with crm_app.unit_of_work() as uow:
            return fn(uow, *args, **kwargs)

    step(utc(2025, 3, 21, 9), service.add_rep, "ali", "علی محمدی")
    step(utc(2025, 3, 21, 9), service.add_rep, "sara", "سارا احمدی")

    def from_lead(key, moment, source, customer, owner, **deal):
        lead = step(
            moment, service.create_lead, title=key, source=source, customer=customer, owner=owner
        )
        ids["L" + key[1:]] = lead.id
        ids[key] = step(moment, service.convert_lead, lead.id, **deal)[1].id

    from_lead("D1", utc(2025, 3, 22, 9), "website", c[0], "ali", amount="100000000")
    step(utc(2025, 3, 25, 9), service.move_deal, ids["D1"], "contact")
    step(utc(2025, 4, 1, 9), service.move_deal, ids["D1"], "proforma")
    step(utc(2025, 4, 15, 9), service.move_deal, ids["D1"], "negotiation")
    step(utc(2025, 4, 20, 20, 45), service.win_deal, ids["D1"], reason="quality")
    from_lead("D2", utc(2025, 3, 23, 9), "website", c[1], "sara", amount="50000000")
    step(utc(2025, 3, 30, 9), service.move_deal, ids["D2"], "contact")
    step(utc(2025, 4, 5, 9), service.lose_deal, ids["D2"], reason="price")
    from_lead(
        "D3",
        utc(2025, 4, 2, 9),
        "referral",
        c[2],
        "ali",
        amount="30000000",
        expected_close="1404-03-05",
    )
    step(utc(2025, 4, 22, 9), service.move_deal, ids["D3"], "contact")
    lead4 = step(
        utc(2025, 4, 3, 9),
        service.create_lead,
        title="L4",
        source="referral",
        contact_name="x",
        owner="ali",
    )
    step(utc(2025, 4, 3, 10), service.disqualify_lead, lead4.id, reason="no budget")
    step(
        utc(2025, 4, 21, 9),
        service.create_lead,
        title="L5",
        source="exhibition",
        contact_name="y",
        owner="ali",
    )
    from_lead("D7", utc(2025, 4, 10, 9), "campaign", c[3], "sara", amount="500", currency="USD")
    step(utc(2025, 4, 12, 9), service.win_deal, ids["D7"])
    ids["D4"] = step(
        utc(2025, 4, 22, 9),
        service.create_deal,
        customer=c[1],
        title="D4",
        amount="20000001",
        probability="35",
        expected_close="1404-02-25",
        owner="sara",
    ).id
    ids["D5"] = step(
        utc(2025, 4, 23, 9),
        service.create_deal,
        customer=c[2],
        title="D5",
        stage="proforma",
        expected_close="1404-02-28",
        owner="ali",
    ).id
    ids["D6"] = step(
        utc(2025, 4, 24, 9),
        service.create_deal,
        customer=c[3],
        title="D6",
        amount="1234.50",
        currency="USD",
        stage="negotiation",
        expected_close="1404-02-05",
        owner="ali",
    ).id
    step(utc(2025, 4, 28, 9), service.log_activity, ids["D4"], kind="call")
    step(utc(2025, 3, 21, 9), service.set_target, "ali", "1404-01", "10000000")
    step(utc(2025, 3, 21, 9), service.set_target, "sara", "1404-01", "80000000")
    step(utc(2025, 3, 21, 9), service.set_target, "ali", "1404-02", "150000000")
    clock.set(utc(2025, 5, 1, 9))
    return ids


def report(app, name, **params):
    with app.unit_of_work() as uow:
        return run_report(uow, name, ReportParams(timezone="Asia/Tehran", **params))


def test_funnel_per_jalali_month(crm_app, dataset):
    r = report(crm_app, "pipeline.funnel", period="jalali_month", calendar="jalali")
    assert r["columns"] == [
        "period",
        "stage",
        "stage_name",
        "entered",
        "advanced",
        "conversion_pct",
    ]
    assert [row[:2] + row[3:] for row in r["rows"]] == [
        ["1404-01", "lead", 4, 4, "100.0"],
        ["1404-01", "contact", 2, 1, "50.0"],
        ["1404-01", "proforma", 1, 1, "100.0"],
        ["1404-01", "negotiation", 1, 1, "100.0"],
        ["1404-01", "won", 1, None, None],
        ["1404-01", "lost", 1, None, None],
        ["1404-02", "lead", 1, 0, "0.0"],
        ["1404-02", "contact", 1, 0, "0.0"],
        ["1404-02", "proforma", 1, 0, "0.0"],
        ["1404-02", "negotiation", 1, 0, "0.0"],
        ["1404-02", "won", 1, None, None],  # D1, won 00:15 on 1 Ordibehesht in Tehran
        ["1404-02", "lost", 0, None, None],
    ]
    assert r["rows"][0][2] == "سرنخ"
    assert r["totals"]["by_stage"] == {
        "lead": {"entered": 5, "advanced": 4, "conversion": "80.0"},
        "contact": {"entered": 3, "advanced": 1, "conversion": "33.3"},
        "proforma": {"entered": 2, "advanced": 1, "conversion": "50.0"},
        "negotiation": {"entered": 2, "advanced": 1, "conversion": "50.0"},
        "won": {"entered": 2, "advanced": None, "conversion": None},
        "lost": {"entered": 1, "advanced": None, "conversion": None},
    }


def test_funnel_in_a_gregorian_range(crm_app, dataset):
    r = report(
        crm_app, "pipeline.funnel", period="month", start=date(2025, 4, 1), end=date(2025, 4, 30)
    )
    assert [row[:2] + row[3:] for row in r["rows"]] == [
        ["2025-04", "lead", 3, 2, "66.7"],
        ["2025-04", "contact", 1, 0, "0.0"],
        ["2025-04", "proforma", 2, 1, "50.0"],
        ["2025-04", "negotiation", 2, 1, "50.0"],
        ["2025-04", "won", 2, None, None],
        ["2025-04", "lost", 1, None, None],
    ]


def test_forecast_weighted_per_jalali_month_and_currency(crm_app, dataset):
    r = report(crm_app, "pipeline.forecast", period="month", calendar="jalali")
    assert r["columns"] == ["period", "currency", "deals", "amount", "weighted_amount"]
    assert r["rows"] == [
        ["1404-02", "IRR", 1, "20000001", "7000000"],  # 20,000,001 × 35% = 7,000,000.35
        ["1404-02", "USD", 1, "1234.50", "740.70"],  # 1,234.50 × 60%
        ["1404-03", "IRR", 1, "30000000", "6000000"],  # 30,000,000 × 20%
    ]
    assert r["totals"]["by_currency"] == {
        "IRR": {"deals": 2, "amount": "50000001", "weighted_amount": "13000000"},
        "USD": {"deals": 1, "amount": "1234.50", "weighted_amount": "740.70"},
    }
    assert (
        r["totals"]["without_amount"],
        r["totals"]["without_expected_close"],
        r["totals"]["overdue"],
    ) == (1, 0, 1)


def test_forecast_per_gregorian_month_filtered_by_owner_and_range(crm_app, dataset):
    r = report(crm_app, "pipeline.forecast", period="month")
    assert r["rows"] == [
        ["2025-04", "USD", 1, "1234.50", "740.70"],
        ["2025-05", "IRR", 2, "50000001", "13000000"],
    ]
    r = report(crm_app, "pipeline.forecast", period="month", options={"owner": "ali"})
    assert r["rows"] == [
        ["2025-04", "USD", 1, "1234.50", "740.70"],
        ["2025-05", "IRR", 1, "30000000", "6000000"],
    ]
    r = report(
        crm_app,
        "pipeline.forecast",
        period="jalali_month",
        start=date(2025, 5, 1),
        end=date(2025, 5, 20),
    )
    assert r["rows"] == [["1404-02", "IRR", 1, "20000001", "7000000"]]


def test_sources_leads_conversion_and_won_amount(crm_app, dataset):
    r = report(crm_app, "pipeline.sources")
    assert r["columns"] == [
        "source",
        "source_name",
        "leads",
        "converted",
        "disqualified",
        "conversion_pct",
        "direct_deals",
        "won_deals",
        "won_amount",
    ]
    assert [row[:1] + row[2:] for row in r["rows"]] == [
        ["website", 2, 2, 0, "100.0", 0, 1, "100000000"],
        ["referral", 2, 1, 1, "50.0", 0, 0, "0"],
        ["exhibition", 1, 0, 0, "0.0", 0, 0, "0"],
        ["phone", 0, 0, 0, None, 0, 0, "0"],
        ["social", 0, 0, 0, None, 0, 0, "0"],
        ["campaign", 1, 1, 0, "100.0", 0, 1, "0"],
    ]
    assert r["totals"] == {
        "leads": 6,
        "converted": 4,
        "disqualified": 1,
        "conversion_pct": "66.7",
        "direct_deals": 0,
        "won_deals": 2,
        "won_amount": "100000000",
        "currency": "IRR",
        "won_in_other_currencies": {"USD": "500.00"},
    }
    r = report(crm_app, "pipeline.sources", start=date(2025, 4, 21), options={"currency": "USD"})
    assert [row[2] for row in r["rows"]] == [0, 0, 1, 0, 0, 0]


def test_targets_against_won_per_rep_and_jalali_month(crm_app, dataset):
    r = report(crm_app, "pipeline.targets")
    assert r["columns"] == [
        "rep",
        "rep_name",
        "period",
        "currency",
        "target",
        "won",
        "won_deals",
        "attainment_pct",
        "remaining",
    ]
    assert r["rows"] == [
        ["ali", "علی محمدی", "1404-01", "IRR", "10000000", "0", 0, "0.0", "10000000"],
        [
            "sara",
            "سارا احمدی",
            "1404-01",
            "IRR",
            "80000000",
            "0",
            0,
            "0.0",
            "80000000",
        ],  # her win is in USD
        ["ali", "علی محمدی", "1404-02", "IRR", "150000000", "100000000", 1, "66.7", "50000000"],
    ]
    assert r["totals"] == {
        "by_currency": {
            "IRR": {"target": "240000000", "won": "100000000", "attainment_pct": "41.7"}
        }
    }
    r = report(crm_app, "pipeline.targets", start=date(2025, 4, 21), end=date(2025, 5, 20))
    assert [row[:3] for row in r["rows"]] == [["ali", "علی محمدی", "1404-02"]]
    r = report(crm_app, "pipeline.targets", options={"rep": "sara"})
    assert [row[2] for row in r["rows"]] == ["1404-01"]


def test_stale_deals_idle_for_n_days(crm_app, dataset):
    r = report(crm_app, "pipeline.stale", calendar="jalali", options={"days": "7"})
    assert r["columns"] == [
        "deal",
        "title",
        "customer",
        "stage",
        "owner",
        "last_activity",
        "idle_days",
        "amount",
        "currency",
    ]
    # D6 was last touched exactly 7 days ago (not stale yet); D4 had a call on 04-28
    assert r["rows"] == [
        [dataset["D3"], "D3", "مشتری 3", "contact", "ali", "1404-02-02", 9, "30000000", "IRR"],
        [dataset["D5"], "D5", "مشتری 3", "proforma", "ali", "1404-02-03", 8, None, "IRR"],
    ]
    assert r["totals"] == {"deals": 2, "days": 7}
    assert report(crm_app, "pipeline.stale")["rows"] == []  # default 14 days
    with pytest.raises(Exception, match="option days must be a whole number"):
        report(crm_app, "pipeline.stale", options={"days": "a week"})


def test_reports_are_in_the_registry_and_run_from_the_cli(crm_app, crm_cli, dataset):
    listed = crm_cli("reports", "list", "--json").json()
    assert {r["name"] for r in listed} >= {
        "pipeline.funnel",
        "pipeline.forecast",
        "pipeline.sources",
        "pipeline.targets",
        "pipeline.stale",
    }
    out = crm_cli("reports", "run", "pipeline.forecast", "--calendar", "jalali", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["rows"][0] == ["1404-02", "IRR", 1, "20000001", "7000000"]
