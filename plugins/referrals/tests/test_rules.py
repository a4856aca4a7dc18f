"""The program: qualification on the first purchase or on spending within days, rewards up the levels,
the monthly cap per Jalali month, reversal on refunds, and refusal of impossible rules."""

from datetime import datetime, timezone

import pytest
from crmcore_referrals import program
from referrals_helpers import PROGRAM, attach, balance, load_rules, rewards

from crmcore.api import ValidationError
from crmcore.testing import make_customer, outbox_events, record_purchase


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(referrer="[-5]"), "at level 1 must be whole points ≥ 0"),
        (dict(friend=-1), "friend must be at least 0"),
        (dict(levels=4, referrer="[1, 1, 1, 1]"), "levels must be at most 3"),
        (dict(levels=1, referrer="[100, 20]"), "names 2 levels but the program counts 1"),
        (dict(event="birthday"), "qualify.event must be one of"),
        (dict(min_amount="-1"), "min_amount must not be negative"),
    ],
)
def test_impossible_rules_are_refused(crm_app, crm_cli, tmp_path, change, message):
    values = (
        dict(
            levels=1,
            event="first_purchase",
            min_amount="500000",
            referrer="[1000]",
            friend=500,
            cap=0,
        )
        | change
    )
    path = tmp_path / "rules.toml"
    path.write_text(PROGRAM.format(**values), encoding="utf-8")
    r = crm_cli("referrals", "rules", "load", str(path))
    assert r.exit_code == 1 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert crm_cli("referrals", "rules", "show", "--json").json()["version"] == 0


def test_the_first_purchase_above_the_amount_rewards_both_sides_once(crm_app):
    load_rules(crm_app)
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    attach(crm_app, sara, ali)
    record_purchase(crm_app, sara, 200_000)  # below 500,000: no reward yet
    assert rewards(crm_app) == []
    record_purchase(crm_app, sara, 600_000)
    record_purchase(crm_app, sara, 900_000)  # qualifies once only
    assert rewards(crm_app) == [
        (sara, "friend", 0, 500, "earned"),
        (ali, "referrer", 1, 1000, "earned"),
    ]
    assert balance(crm_app, ali) == 1000 and balance(crm_app, sara) == 500
    events = outbox_events(crm_app, "referrals_reward_earned")
    assert sorted(e["customer_id"] for e in events) == sorted([ali, sara])


def test_two_levels_reward_the_referrers_referrer(crm_app):
    load_rules(crm_app, levels=2, referrer="[1000, 200]", friend=0)
    a, b, c = (make_customer(crm_app, n) for n in ("الف", "ب", "ج"))
    attach(crm_app, b, a)
    attach(crm_app, c, b)
    record_purchase(crm_app, c, 500_000)
    assert rewards(crm_app) == [
        (b, "referrer", 1, 1000, "earned"),
        (a, "referrer", 2, 200, "earned"),
    ]


def test_three_levels_never_more(crm_app):
    load_rules(crm_app, levels=3, referrer="[100, 20, 5]", friend=0)
    people = [make_customer(crm_app, f"عضو {i}") for i in range(5)]
    for above, below in zip(people, people[1:]):
        attach(crm_app, below, above)
    record_purchase(crm_app, people[4], 500_000)
    assert [(w[0], w[2], w[3]) for w in rewards(crm_app)] == [
        (people[3], 1, 100),
        (people[2], 2, 20),
        (people[1], 3, 5),
    ]


def test_the_monthly_cap_counts_per_jalali_month(crm_app):
    load_rules(crm_app, cap=1, friend=0)
    ali = make_customer(crm_app, "علی")
    crm_app.clock.set(datetime(2025, 3, 10, 8, tzinfo=timezone.utc))  # Esfand 1403
    f1, f2, f3 = (make_customer(crm_app, f"دوست {i}") for i in range(3))
    for f in (f1, f2, f3):
        attach(crm_app, f, ali)
    crm_app.clock.set(datetime(2025, 4, 1, 8, tzinfo=timezone.utc))  # recorded afterwards
    record_purchase(crm_app, f1, 500_000, at="2025-03-11 10:00")
    record_purchase(crm_app, f2, 500_000, at="2025-03-19 10:00")  # still Esfand: capped
    record_purchase(crm_app, f3, 500_000, at="2025-03-21 10:00")  # 1 Farvardin 1404: a new month
    got = rewards(crm_app)
    assert [(w[3], w[4]) for w in got] == [(1000, "earned"), (0, "capped"), (1000, "earned")]
    assert balance(crm_app, ali) == 2000


def test_spending_within_days_qualifies(crm_app):
    load_rules(crm_app, event="spend", min_amount="1000000", friend=0)
    ali, sara, reza = (
        make_customer(crm_app, "علی"),
        make_customer(crm_app, "سارا"),
        make_customer(crm_app, "رضا"),
    )
    attach(crm_app, sara, ali)
    attach(crm_app, reza, ali)
    record_purchase(crm_app, sara, 400_000)
    record_purchase(crm_app, sara, 700_000)  # 1,100,000 within the window: qualifies
    record_purchase(crm_app, reza, 600_000)
    crm_app.clock.advance(days=31)
    record_purchase(crm_app, reza, 600_000)  # too late to count
    assert rewards(crm_app) == [(ali, "referrer", 1, 1000, "earned")]


def test_a_refund_below_the_amount_reverses_every_reward(crm_app):
    load_rules(crm_app, levels=2, referrer="[1000, 200]")
    a, b, c = (make_customer(crm_app, n) for n in ("الف", "ب", "ج"))
    attach(crm_app, b, a)
    attach(crm_app, c, b)
    purchase = record_purchase(crm_app, c, 800_000)
    record_purchase(crm_app, c, 200_000, kind="refund", related_id=purchase)  # 600,000 left: kept
    assert {w[4] for w in rewards(crm_app)} == {"earned"}
    record_purchase(crm_app, c, 200_000, kind="refund", related_id=purchase)  # 400,000: reversed
    assert {w[4] for w in rewards(crm_app)} == {"reversed"}
    assert (balance(crm_app, a), balance(crm_app, b), balance(crm_app, c)) == (0, 0, 0)
    assert len(outbox_events(crm_app, "referrals_reward_reversed")) == 3


def test_a_refund_of_another_purchase_changes_nothing(crm_app):
    load_rules(crm_app)
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    attach(crm_app, sara, ali)
    record_purchase(crm_app, sara, 600_000)
    other = record_purchase(crm_app, sara, 300_000)
    record_purchase(crm_app, sara, 300_000, kind="refund", related_id=other)
    assert {w[4] for w in rewards(crm_app)} == {"earned"}


@pytest.mark.crm_plugins("referrals")
def test_without_loyalty_rewards_are_recorded_and_handed_to_the_hook(crm_app):
    load_rules(crm_app)
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    attach(crm_app, sara, ali)
    record_purchase(crm_app, sara, 600_000)
    assert rewards(crm_app) == [
        (sara, "friend", 0, 500, "earned"),
        (ali, "referrer", 1, 1000, "earned"),
    ]
    assert len(outbox_events(crm_app, "referrals_reward_earned")) == 2


def test_purchases_in_another_currency_or_before_the_referral_do_not_count(crm_app):
    load_rules(crm_app)
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    attach(crm_app, sara, ali)
    record_purchase(crm_app, sara, 900, currency="USD")
    assert rewards(crm_app) == []


def test_simulate_matches_what_happens(crm_app, crm_cli):
    load_rules(crm_app, levels=2, referrer="[1000, 200]")
    sim = crm_cli(
        "referrals",
        "simulate",
        "--amount",
        "۲۰۰٬۰۰۰",
        "--amount",
        "600,000",
        "--chain",
        "2",
        "--json",
    ).json()
    assert sim["qualifies"] and sim["purchase"] == 2
    a, b, c = (make_customer(crm_app, n) for n in ("الف", "ب", "ج"))
    attach(crm_app, b, a)
    attach(crm_app, c, b)
    record_purchase(crm_app, c, 200_000)
    record_purchase(crm_app, c, 600_000)
    assert sorted((r["role"], r["level"], r["points"]) for r in sim["rewards"]) == sorted(
        (w[1], w[2], w[3]) for w in rewards(crm_app)
    )
    bad = crm_cli("referrals", "simulate", "--amount", "-5")
    assert bad.exit_code == 1 and "cannot be negative" in bad.stderr


def test_rules_are_versioned_and_rewards_keep_theirs(crm_app):
    first = load_rules(crm_app)
    second = load_rules(crm_app, referrer="[2000]")
    assert (first.version, second.version) == (1, 2)
    with crm_app.unit_of_work() as uow:
        assert program.load(uow, uow.session.get(program.ReferralProgram, 2).source)[1] is False
    with pytest.raises(ValidationError):
        program.parse("[program]\nlevels = 0\n")
