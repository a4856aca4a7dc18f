"""Upgrades happen when a purchase crosses a threshold; the new multiplier applies from the next purchase."""

from itertools import count

from tiers_helpers import buy, buy_many, days_ago, earned, history, load_ladder, tier, utc

from crmcore.api import hookimpl
from crmcore.testing import make_customer, outbox_events


def test_crossing_purchase_upgrades_at_once_and_multiplier_applies_from_the_next(
    crm_app, crm_cli, tmp_path
):
    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app)
    buy(crm_app, cid, 2_000_000, days_ago(crm_app, 10))  # 200 points, red
    assert tier(crm_app, cid) == "red"
    buy(crm_app, cid, 1_500_000, days_ago(crm_app, 5))  # 150 points at red's ×1: 350 ≥ 300 → silver
    assert tier(crm_app, cid) == "silver"
    buy(crm_app, cid, 1_000_000, days_ago(crm_app, 1))  # 100 points × 1.5 = 150
    assert earned(crm_app, cid) == [200, 150, 150]
    assert history(crm_app, cid) == [(None, "red", "join"), ("red", "silver", "up")]
    event = outbox_events(crm_app, "tiers_tier_changed", customer_id=cid)[0]["payload"]
    assert (
        event["old_tier"] == "red" and event["new_tier"] == "silver" and event["direction"] == "up"
    )
    assert event["new_title_fa"] == "نقره‌ای"
    assert "350 of 300 points in rolling 365 days" in event["reason"]


def test_purchases_in_one_unit_of_work_upgrade_in_order(crm_app, crm_cli, tmp_path):
    """An import records many purchases in one transaction: each still earns at the tier its predecessors reached."""
    load_ladder(crm_cli, tmp_path)
    a, b = make_customer(crm_app, "الف"), make_customer(crm_app, "ب")
    buy_many(
        crm_app,
        [
            (a, 3_000_000, days_ago(crm_app, 30)),
            (b, 500_000, days_ago(crm_app, 30)),
            (a, 1_000_000, days_ago(crm_app, 20)),  # silver: 100 × 1.5 = 150 → 450
            (a, 4_000_000, days_ago(crm_app, 10)),  # 400 × 1.5 = 600 → 1,050: gold
            (a, 1_000_000, days_ago(crm_app, 5)),  # 100 × 2 = 200
            (b, 500_000, days_ago(crm_app, 4)),
        ],
    )
    assert earned(crm_app, a) == [300, 150, 600, 200]
    assert earned(crm_app, b) == [50, 50]
    assert history(crm_app, a) == [
        (None, "red", "join"),
        ("red", "silver", "up"),
        ("silver", "gold", "up"),
    ]
    assert tier(crm_app, b) == "red"


def test_one_purchase_can_cross_two_thresholds(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app)
    buy(crm_app, cid, 12_000_000)
    assert earned(crm_app, cid) == [1200]  # the crossing purchase earns at red's rate
    assert history(crm_app, cid) == [(None, "red", "join"), ("red", "gold", "up")]


def test_points_outside_the_window_do_not_count(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app)
    buy(crm_app, cid, 2_000_000, days_ago(crm_app, 400))
    buy(crm_app, cid, 2_000_000, days_ago(crm_app, 1))
    assert tier(crm_app, cid) == "red"


def test_spend_alternative_upgrades_and_the_purchase_keeps_the_old_rate(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path, gold_extra='or_spend = "8000000"')
    cid = make_customer(crm_app)
    buy(crm_app, cid, 3_000_000, days_ago(crm_app, 9))  # 300 points: silver
    buy(
        crm_app, cid, 5_000_000, days_ago(crm_app, 8)
    )  # spend 8,000,000: gold; earns 500 × 1.5 (silver)
    buy(crm_app, cid, 100_000, days_ago(crm_app, 7))  # 10 × 2
    assert earned(crm_app, cid) == [300, 750, 20]
    assert history(crm_app, cid)[-1] == ("silver", "gold", "up")


def test_number_of_purchases_alternative(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path, silver_extra="or_purchases = 3")
    cid = make_customer(crm_app)
    for day in (30, 20):
        buy(crm_app, cid, 100_000, days_ago(crm_app, day))
    assert tier(crm_app, cid) == "red"
    buy(crm_app, cid, 100_000, days_ago(crm_app, 10))
    assert tier(crm_app, cid) == "silver"
    assert earned(crm_app, cid) == [10, 10, 10]


def test_refunds_lower_spend(crm_app, crm_cli, tmp_path):
    from crmcore.testing import record_purchase

    load_ladder(crm_cli, tmp_path, silver_extra='or_spend = "2000000"')
    cid = make_customer(crm_app)
    first = buy(crm_app, cid, 1_500_000, days_ago(crm_app, 9))
    record_purchase(
        crm_app, cid, 1_000_000, kind="refund", related_id=first, at=days_ago(crm_app, 8)
    )
    buy(crm_app, cid, 1_000_000, days_ago(crm_app, 7))  # spend 1,500,000: not yet (and 150 points)
    assert tier(crm_app, cid) == "red"


class Listener:
    def __init__(self):
        self.calls = []

    @hookimpl
    def tiers_tier_changed(self, uow, customer, old_tier, new_tier, direction, reason):
        self.calls.append((customer.id, old_tier, new_tier, direction))


def test_other_plugins_hear_tier_changes(crm_app_factory, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    listener = Listener()
    app = crm_app_factory(
        plugins=["loyalty", "tiers"], extra_plugins=[("listener", listener, None)]
    )
    cid = make_customer(app)
    buy(app, cid, 3_500_000)
    assert listener.calls == [(cid, "red", "silver", "up")]


def _import_purchases(crm_cli, tmp_path, rows):
    path = tmp_path / "history.csv"
    path.write_text(
        "customer,kind,date,amount,currency\n"
        + "".join(f"{code},purchase,{day},{rials},IRR\n" for code, day, rials in rows),
        encoding="utf-8",
    )
    result = crm_cli("--timezone", "UTC", "interactions", "import", str(path), "--json")
    assert result.exit_code == 0, result.output


def test_an_imported_same_day_purchase_that_crosses_is_the_one_the_upgrade_is_pinned_to(
    crm_app, crm_cli, tmp_path
):
    """Two purchases with one date (a history file): the second crosses the spend threshold, so it
    carries the upgrade and earns at the old rate, as when the two are recorded live."""
    load_ladder(crm_cli, tmp_path, silver_extra='or_spend = "3000000"')
    cid = make_customer(crm_app, "الف", external_id="H-1")
    _import_purchases(
        crm_cli,
        tmp_path,
        [
            ("H-1", "2024-03-01", 1_000_000),
            ("H-1", "2024-03-01", 2_500_000),
            ("H-1", "2024-03-02", 1_000_000),
        ],
    )
    assert earned(crm_app, cid) == [100, 250, 150]
    assert history(crm_app, cid) == [(None, "red", "join"), ("red", "silver", "up")]


def test_an_imported_same_day_purchase_that_crosses_a_points_threshold_earns_the_old_rate(
    crm_app, crm_cli, tmp_path
):
    load_ladder(crm_cli, tmp_path)
    cid = make_customer(crm_app, "ب", external_id="H-2")
    _import_purchases(
        crm_cli,
        tmp_path,
        [
            ("H-2", "2024-03-01", 1_000_000),
            ("H-2", "2024-03-01", 2_500_000),
            ("H-2", "2024-03-01", 1_000_000),
        ],
    )
    assert earned(crm_app, cid) == [100, 250, 150]
    assert history(crm_app, cid) == [(None, "red", "join"), ("red", "silver", "up")]


def test_batch_and_live_accrual_agree_on_random_same_day_purchases(crm_app, crm_cli, tmp_path):
    """The same purchases (many sharing a date) imported as a history file and recorded live one by
    one give the same points per purchase and the same tier history."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    load_ladder(crm_cli, tmp_path, silver_extra='or_spend = "4000000"')
    codes = count(1)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(1, 40).map(lambda n: n * 100_000)),
            min_size=2,
            max_size=8,
        )
    )
    def check(purchases):
        n = next(codes)
        imported = make_customer(crm_app, f"imported {n}", external_id=f"P-{n}")
        live = make_customer(crm_app, f"live {n}")
        purchases = sorted(purchases, key=lambda p: p[0])  # a history file in date order
        _import_purchases(
            crm_cli,
            tmp_path,
            [(f"P-{n}", f"2024-03-0{1 + day}", rials) for day, rials in purchases],
        )
        for day, rials in purchases:
            buy(crm_app, live, rials, utc(2024, 3, 1 + day))
        assert earned(crm_app, imported) == earned(crm_app, live)
        assert history(crm_app, imported) == history(crm_app, live)

    check()
