from datetime import datetime, timedelta, timezone

import pytest
from crmcore_loyalty import api

from crmcore.api import Conflict, NotFound, ValidationError
from crmcore.testing import assert_migrations_match_models, make_customer, outbox_events


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "loyalty")


def test_credit_debit_balance_and_consumed_lots_in_soonest_expiring_order(crm_app):
    cid = make_customer(crm_app)
    soon = datetime(2025, 6, 1, tzinfo=timezone.utc)
    later = datetime(2025, 12, 1, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        late = api.credit(uow, cid, 100, kind="adjust", reason="welcome", expires_at=later)
        early = api.credit(uow, cid, 50, kind="adjust", reason="apology", expires_at=soon)
        never = api.credit(uow, cid, 30, kind="adjust", reason="gift", expires_at=None)
    with crm_app.unit_of_work() as uow:
        entry = api.debit(uow, cid, 120, kind="redeem", reason="gift card", key="r-1")
        lot_of = {lot.entry_id: lot.id for lot in api.lots(uow, cid, open_only=False)}
        assert entry.points == -120 and entry.balance_after == 60
        assert entry.consumed == [(lot_of[early.id], 50, soon), (lot_of[late.id], 70, later)]
        assert api.balance(uow, cid) == 60
        assert never.points == 30
    events = [
        e["event"]
        for e in outbox_events(crm_app, customer_id=cid)
        if e["event"].startswith("loyalty")
    ]
    assert events == ["loyalty_points_earned"] * 3 + ["loyalty_points_redeemed"]


def test_overspend_is_refused_and_nothing_changes(crm_app):
    cid = make_customer(crm_app)
    with crm_app.unit_of_work() as uow:
        api.credit(uow, cid, 10, kind="adjust", reason="x")
    with pytest.raises(ValidationError, match="has 10 points; cannot take 11"):
        with crm_app.unit_of_work() as uow:
            api.debit(uow, cid, 11, kind="redeem", reason="too much")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert api.balance(uow, cid) == 10
        assert [e.kind for e in api.ledger(uow, cid)] == ["adjust"]


def test_idempotency_key_returns_the_original_entry(crm_app):
    cid = make_customer(crm_app)
    with crm_app.unit_of_work() as uow:
        first = api.credit(uow, cid, 10, kind="adjust", reason="x", key="k1")
    with crm_app.unit_of_work() as uow:
        again = api.credit(uow, cid, 10, kind="adjust", reason="x", key="k1")
        assert again.id == first.id
        assert api.balance(uow, cid) == 10
    with pytest.raises(Conflict, match="already used for another operation"):
        with crm_app.unit_of_work() as uow:
            api.credit(uow, cid, 99, kind="adjust", reason="x", key="k1")


@pytest.mark.parametrize(
    "points, kind, reason, field",
    [
        (0, "adjust", "r", "points"),
        (-5, "adjust", "r", "points"),
        (1.5, "adjust", "r", "points"),
        (5, "Bad Kind", "r", "kind"),
        (5, "adjust", " ", "reason"),
    ],
)
def test_bad_arguments_are_refused(crm_app, points, kind, reason, field):
    cid = make_customer(crm_app)
    with pytest.raises(ValidationError) as err:
        with crm_app.unit_of_work() as uow:
            api.credit(uow, cid, points, kind=kind, reason=reason)
    assert err.value.field == field


def test_unknown_customer_is_not_found(crm_app):
    with pytest.raises(NotFound):
        with crm_app.unit_of_work() as uow:
            api.credit(uow, 999, 5, kind="adjust", reason="r")


def test_points_earned_between_counts_by_occurred_at(crm_app):
    cid = make_customer(crm_app)
    t0 = datetime(2024, 1, 10, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        api.credit(uow, cid, 10, kind="earn", reason="a", occurred_at=t0)
        api.credit(uow, cid, 20, kind="earn", reason="b", occurred_at=t0 + timedelta(days=40))
        api.credit(uow, cid, 99, kind="adjust", reason="not earned", occurred_at=t0)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert api.points_earned_between(uow, cid, t0, t0 + timedelta(days=30)) == 10
        assert api.points_earned_between(uow, cid, t0, t0 + timedelta(days=41)) == 30
