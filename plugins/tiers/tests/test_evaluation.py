"""Downgrades happen only at evaluation, after any grace period; each window kind; rollover; notices; bad dates."""

from datetime import timedelta

from sqlalchemy import func, select
from tiers_helpers import PROGRAM, RED, buy, days_ago, history, load_ladder, load_program, tier, utc

from crmcore.api import format_date
from crmcore.testing import make_customer, outbox_events


def evaluate(crm_cli, *args):
    result = crm_cli("tiers", "evaluate", *args, "--json")
    assert result.exit_code == 0, result
    return result.json()


def test_downgrade_waits_for_evaluation_and_the_grace_period(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path, silver_extra="grace_days = 30")
    cid = make_customer(crm_app)
    buy(
        crm_app, cid, 3_500_000, days_ago(crm_app, 400)
    )  # silver then; nothing in the last 365 days
    assert tier(crm_app, cid) == "silver"  # no evaluation yet: no downgrade
    first = evaluate(crm_cli)
    assert (
        first["grace_started"] == 1 and first["downgraded"] == 0 and tier(crm_app, cid) == "silver"
    )
    today = crm_app.clock()
    warning = outbox_events(crm_app, "tiers_downgrade_warning", customer_id=cid)
    assert [w["payload"]["downgrade_on"] for w in warning] == [
        (today + timedelta(days=30)).date().isoformat()
    ]
    assert warning[0]["payload"]["needed"] == 300 and warning[0]["payload"]["metric"] == "points"
    crm_app.clock.advance(days=29)
    assert evaluate(crm_cli)["kept"] == 1 and tier(crm_app, cid) == "silver"
    crm_app.clock.advance(days=1)
    assert evaluate(crm_cli)["downgraded"] == 1 and tier(crm_app, cid) == "red"
    assert history(crm_app, cid) == [
        (None, "red", "join"),
        ("red", "silver", "up"),
        ("silver", "red", "down"),
    ]
    reason = crm_cli("tiers", "history", str(cid), "--json").json()[-1]["reason"]
    assert (
        "below Silver at evaluation: 0 of 300 points in rolling 365 days" in reason
        and "grace ended" in reason
    )
    down = outbox_events(crm_app, "tiers_tier_changed", customer_id=cid)[-1]["payload"]
    assert (down["old_tier"], down["new_tier"], down["direction"]) == ("silver", "red", "down")


def test_requalifying_during_grace_keeps_the_tier(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path, silver_extra="grace_days = 30")
    cid = make_customer(crm_app)
    buy(crm_app, cid, 3_500_000, days_ago(crm_app, 400))
    evaluate(crm_cli)
    crm_app.clock.advance(days=10)
    buy(crm_app, cid, 3_000_000)  # 300 × 1.5 = 450 points in the window again
    summary = evaluate(crm_cli)
    assert summary["grace_ended"] == 1 and summary["kept"] == 1
    crm_app.clock.advance(days=30)
    assert evaluate(crm_cli)["downgraded"] == 0 and tier(crm_app, cid) == "silver"


def test_without_grace_a_member_drops_to_the_tier_still_qualified_for(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app)
    buy(crm_app, cid, 12_000_000, days_ago(crm_app, 300))  # 1,200 points: gold
    buy(crm_app, cid, 4_000_000, days_ago(crm_app, 100))  # 400 × 2 = 800
    assert evaluate(crm_cli)["kept"] == 1
    crm_app.clock.advance(days=70)  # the 1,200 leave the window; 800 remain: silver
    assert tier(crm_app, cid) == "gold"
    assert evaluate(crm_cli)["downgraded"] == 1
    assert history(crm_app, cid)[-1] == ("gold", "silver", "down")


YEARLY = (
    RED
    + """
[[tiers]]
name = "silver"
rank = 1
metric = "points"
threshold = 300
window = "{window}"

[[tiers]]
name = "gold"
rank = 2
metric = "points"
threshold = 1000
window = "{window}"
multiplier = "2"
rollover = {rollover}
"""
)


def test_calendar_year_qualifies_through_the_next_year(crm_app, crm_cli, tmp_path):
    assert (
        load_program(
            crm_cli, tmp_path, PROGRAM + YEARLY.format(window="calendar year", rollover="false")
        ).exit_code
        == 0
    )
    cid = make_customer(crm_app)
    crm_app.clock.set(utc(2026, 1, 5, 8))
    buy(crm_app, cid, 3_500_000, utc(2024, 12, 30, 8))
    assert tier(crm_app, cid) == "silver"
    assert evaluate(crm_cli, "--as-of", "2025-12-31")["kept"] == 1
    assert evaluate(crm_cli, "--as-of", "2026-01-01")["downgraded"] == 1
    assert tier(crm_app, cid) == "red"


def test_jalali_year_runs_from_nowruz_to_nowruz(crm_app, crm_cli, tmp_path):
    assert (
        load_program(
            crm_cli, tmp_path, PROGRAM + YEARLY.format(window="jalali year", rollover="false")
        ).exit_code
        == 0
    )
    cid = make_customer(crm_app)
    crm_app.clock.set(utc(2026, 3, 25, 8))
    buy(
        crm_app, cid, 3_500_000, utc(2025, 3, 18, 8)
    )  # 1403-12-27: qualifies for 1403, held through 1404
    assert tier(crm_app, cid) == "silver"
    assert (
        evaluate(crm_cli, "--as-of", "1404-10-11")["kept"] == 1
    )  # 2026-01-01: a Gregorian year would lapse
    assert evaluate(crm_cli, "--as-of", "1404-12-29")["kept"] == 1  # the last day of 1404
    assert evaluate(crm_cli, "--as-of", "1405-01-01")["downgraded"] == 1
    change = crm_cli("tiers", "history", str(cid), "--json").json()[-1]
    assert "0 of 300 points in Jalali year 1405" in change["reason"]
    assert "Jalali year 1404 (previous year)" in change["reason"]


def _rollover_case(crm_app, crm_cli, tmp_path, rollover: str) -> int:
    assert (
        load_program(
            crm_cli, tmp_path, PROGRAM + YEARLY.format(window="calendar year", rollover=rollover)
        ).exit_code
        == 0
    )
    cid = make_customer(crm_app)
    crm_app.clock.set(utc(2027, 1, 5, 8))
    buy(crm_app, cid, 13_000_000, utc(2024, 6, 1, 8))  # 1,300 points: gold, 300 above its threshold
    buy(crm_app, cid, 3_500_000, utc(2025, 6, 1, 8))  # 350 × 2 = 700 points in 2025
    return cid


def test_rollover_carries_the_surplus_into_the_next_year(crm_app, crm_cli, tmp_path):
    cid = _rollover_case(crm_app, crm_cli, tmp_path, "true")
    assert (
        evaluate(crm_cli, "--as-of", "2026-01-01")["kept"] == 1
    )  # 2025: 700 + 300 carried = 1,000
    assert tier(crm_app, cid) == "gold"
    assert evaluate(crm_cli, "--as-of", "2027-01-01")["downgraded"] == 1
    assert history(crm_app, cid)[-1] == ("gold", "red", "down")  # 2026 had nothing


def test_without_rollover_the_surplus_is_lost(crm_app, crm_cli, tmp_path):
    cid = _rollover_case(crm_app, crm_cli, tmp_path, "false")
    assert evaluate(crm_cli, "--as-of", "2026-01-01")["downgraded"] == 1
    assert history(crm_app, cid)[-1] == ("gold", "silver", "down")  # 2025: 700 points


def test_members_are_warned_before_their_tier_lapses(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app)
    buy(crm_app, cid, 3_500_000, days_ago(crm_app, 350))  # leaves the 365-day window in 15 days
    lapse = (crm_app.clock() + timedelta(days=15)).date()
    risky = crm_cli("tiers", "at-risk", "--json").json()
    assert risky == [
        {
            "customer_id": cid,
            "tier": "silver",
            "downgrade_on": lapse.isoformat(),
            "metric": "points",
            "needed": 300,
            "in_grace": False,
            "currency": None,
        }
    ]
    text = crm_cli("--calendar", "jalali", "tiers", "at-risk").stdout
    assert f"will downgrade on {format_date(lapse, 'jalali')} unless 300 points more" in text
    jobs = crm_cli("jobs", "run", "--only", "tiers.evaluate", "--json")
    assert jobs.exit_code == 0, jobs
    assert jobs.json()[0]["summary"]["notices"] == 1
    crm_app.clock.advance(days=1)
    assert (
        crm_cli("jobs", "run", "--only", "tiers.evaluate", "--json").json()[0]["summary"]["notices"]
        == 0
    )
    warnings = outbox_events(crm_app, "tiers_downgrade_warning", customer_id=cid)
    assert [(w["payload"]["downgrade_on"], w["payload"]["needed"]) for w in warnings] == [
        (lapse.isoformat(), 300)
    ]
    assert crm_cli("tiers", "at-risk", "--within", "5", "--json").json() == []


def test_future_and_backward_dates_are_refused_and_change_nothing(crm_app, crm_cli, tmp_path):
    from crmcore_tiers.models import TierEvaluation

    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app)
    buy(crm_app, cid, 3_500_000, days_ago(crm_app, 400))
    tomorrow = (crm_app.clock() + timedelta(days=1)).date().isoformat()
    result = crm_cli("tiers", "evaluate", "--as-of", tomorrow)
    assert result.exit_code == 1 and "is in the future" in result.stderr
    assert tier(crm_app, cid) == "silver"
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(TierEvaluation)) == 0
    evaluate(crm_cli)
    earlier = (crm_app.clock() - timedelta(days=3)).date().isoformat()
    result = crm_cli("tiers", "evaluate", "--as-of", earlier)
    assert result.exit_code == 1 and "already evaluated" in result.stderr
    assert crm_cli("tiers", "evaluate", "--as-of", "1404-13-01").exit_code == 1


def test_evaluation_without_a_ladder_says_how_to_add_one(crm_app, crm_cli, tmp_path):
    assert load_program(crm_cli, tmp_path, PROGRAM).exit_code == 0
    result = crm_cli("tiers", "evaluate")
    assert result.exit_code == 1 and "[[tiers]]" in result.stderr
