"""Upgrades happen when a purchase crosses a threshold; the new multiplier applies from the next purchase."""
from crmcore.api import hookimpl
from crmcore.testing import make_customer, outbox_events

from tiers_helpers import buy, buy_many, days_ago, earned, history, load_ladder, tier


def test_crossing_purchase_upgrades_at_once_and_multiplier_applies_from_the_next(crm_app, crm_cli, tmp_path):
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
    assert event["old_tier"] == "red" and event["new_tier"] == "silver" and event["direction"] == "up"
    assert event["new_title_fa"] == "نقره‌ای"
    assert "350 of 300 points in rolling 365 days" in event["reason"]


def test_purchases_in_one_unit_of_work_upgrade_in_order(crm_app, crm_cli, tmp_path):
    """An import records many purchases in one transaction: each still earns at the tier its predecessors reached."""
    load_ladder(crm_cli, tmp_path)
    a, b = make_customer(crm_app, "الف"), make_customer(crm_app, "ب")
    buy_many(crm_app, [(a, 3_000_000, days_ago(crm_app, 30)), (b, 500_000, days_ago(crm_app, 30)),
                       (a, 1_000_000, days_ago(crm_app, 20)),   # silver: 100 × 1.5 = 150 → 450
                       (a, 4_000_000, days_ago(crm_app, 10)),   # 400 × 1.5 = 600 → 1,050: gold
                       (a, 1_000_000, days_ago(crm_app, 5)),    # 100 × 2 = 200
                       (b, 500_000, days_ago(crm_app, 4))])
    assert earned(crm_app, a) == [300, 150, 600, 200]
    assert earned(crm_app, b) == [50, 50]
    assert history(crm_app, a) == [(None, "red", "join"), ("red", "silver", "up"), ("silver", "gold", "up")]
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
    buy(crm_app, cid, 3_000_000, days_ago(crm_app, 9))   # 300 points: silver
    buy(crm_app, cid, 5_000_000, days_ago(crm_app, 8))   # spend 8,000,000: gold; earns 500 × 1.5 (silver)
    buy(crm_app, cid, 100_000, days_ago(crm_app, 7))     # 10 × 2
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
    record_purchase(crm_app, cid, 1_000_000, kind="refund", related_id=first, at=days_ago(crm_app, 8))
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
    app = crm_app_factory(plugins=["loyalty", "tiers"], extra_plugins=[("listener", listener, None)])
    cid = make_customer(app)
    buy(app, cid, 3_500_000)
    assert listener.calls == [(cid, "red", "silver", "up")]
