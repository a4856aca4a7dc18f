"""Sending under an instant policy: both ledgers in one transaction, fees, amount bounds, bad input, expiry of
received points, idempotency."""

from datetime import datetime, timedelta, timezone

import pytest
from crmcore_transfers.models import Transfer
from sqlalchemy import func, select
from transfers_helpers import act, balance, give, kinds, load_policy, open_lots, send, show

from crmcore.api import Conflict, NotFound, ValidationError
from crmcore.testing import make_customer, outbox_events

UTC = timezone.utc


@pytest.fixture
def members(crm_app):
    return [make_customer(crm_app, name) for name in ("مریم رضایی", "علی رضایی", "سارا کریمی")]


def transfers_count(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Transfer))


def test_instant_transfer_writes_out_fee_and_in_entries_linked_to_one_record(
    crm_app, crm_cli, tmp_path, members
):
    load_policy(crm_cli, tmp_path, "fee = 5")
    a, b, _ = members
    give(crm_app, a, 300)
    t = send(crm_app, a, b, 100, note="تولدت مبارک")
    assert (t["status"], t["points"], t["fee"], t["circle"]) == ("completed", 100, 5, "any")
    assert kinds(crm_app, a) == [("adjust", 300), ("transfer_out", -100), ("transfer_fee", -5)]
    assert kinds(crm_app, b) == [("transfer_in", 100)]
    assert (balance(crm_app, a), balance(crm_app, b)) == (195, 100)
    assert set(t["entries"]) == {"out", "fee", "in"} and len(t["entries"]["in"]) == 1
    assert [h["event"] for h in show(crm_app, t["id"])["history"]] == ["requested", "completed"]
    completed = outbox_events(crm_app, "transfers_transfer_completed")
    assert [e["payload"]["id"] for e in completed] == [t["id"]]


def test_the_completed_hook_sees_both_ledgers_written(crm_app_factory, crm_cli, tmp_path, crm_app):
    from crmcore_loyalty import api as loyalty

    from crmcore.api import hookimpl

    seen = []

    class Listener:
        @hookimpl
        def transfers_transfer_completed(self, uow, transfer):
            seen.append(
                (
                    transfer.status,
                    loyalty.balance(uow, transfer.sender_id),
                    loyalty.balance(uow, transfer.recipient_id),
                )
            )

    app = crm_app_factory(extra_plugins=[("listener", Listener(), None)])
    load_policy(crm_cli, tmp_path, 'recipients = "any"')
    a, b = make_customer(app, "الف"), make_customer(app, "ب")
    give(app, a, 50)
    send(app, a, b, 20)
    assert seen == [("completed", 30, 20)]


@pytest.mark.parametrize(
    "fee, points, expected",
    [("2%", 100, 2), ("2%", 10, 1), ("2.5%", 100, 3), ("۵٪", 40, 2), (0, 100, 0), (7, 100, 7)],
)
def test_fees_in_points_or_percent_rounded_up(
    crm_app, crm_cli, tmp_path, members, fee, points, expected
):
    load_policy(crm_cli, tmp_path, f"fee = {fee!r}".replace("'", '"'))
    a, b, _ = members
    give(crm_app, a, 1000)
    assert send(crm_app, a, b, points)["fee"] == expected
    assert balance(crm_app, a) == 1000 - points - expected


@pytest.mark.parametrize(
    "points, field, message",
    [
        (0, "points", "must be positive"),
        (-5, "points", "must be positive"),
        (True, "points", "whole numbers"),
        (20, "points", "smallest transfer is 50"),
        (600, "points", "largest transfer is 500"),
        (
            401,
            "points",
            "customer 1 has 400 points; cannot send 401 points and a fee of 10 (411 in all)",
        ),
    ],
)
def test_bad_amounts_are_refused_and_nothing_changes(
    crm_app, crm_cli, tmp_path, members, points, field, message
):
    load_policy(crm_cli, tmp_path, "min_points = 50\nmax_points = 500\nfee = 10")
    a, b, _ = members
    give(crm_app, a, 400)
    with pytest.raises(ValidationError) as err:
        send(crm_app, a, b, points)
    assert err.value.field == field and message in str(err.value)
    assert (balance(crm_app, a), balance(crm_app, b), transfers_count(crm_app)) == (400, 0, 0)
    assert outbox_events(crm_app, "loyalty_points_redeemed") == []


def test_self_unknown_and_unconfigured_transfers_are_refused(crm_app, crm_cli, tmp_path, members):
    a, b, _ = members
    give(crm_app, a, 100)
    with pytest.raises(Conflict, match=r"transfers are off: .* no \[transfers\] section"):
        send(crm_app, a, b, 10)
    load_policy(crm_cli, tmp_path, "")
    with pytest.raises(ValidationError, match="cannot transfer points to themselves"):
        send(crm_app, a, a, 10)
    with pytest.raises(NotFound):
        send(crm_app, a, 999, 10)
    with pytest.raises(NotFound, match="no transfer with id 42"):
        act(crm_app, "accept", 42)
    assert (balance(crm_app, a), transfers_count(crm_app)) == (100, 0)


def test_received_points_keep_the_original_lots_expiry(crm_app, crm_cli, tmp_path, members):
    load_policy(crm_cli, tmp_path, "")
    a, b, _ = members
    soon = datetime(2025, 4, 10, 20, 30, tzinfo=UTC)
    later = datetime(2025, 9, 1, 20, 30, tzinfo=UTC)
    give(crm_app, a, 30, expires_at=soon)
    give(crm_app, a, 100, expires_at=later)
    give(crm_app, a, 50, expires_at=None)
    send(crm_app, a, b, 150)  # soonest-expiring first: 30 (soon) + 100 (later) + 20 (never)
    assert open_lots(crm_app, b) == [(30, soon), (100, later), (20, None)]


def test_policy_expiry_days_caps_received_points_but_never_beyond_the_original(
    crm_app, crm_cli, tmp_path, members
):
    load_policy(crm_cli, tmp_path, "expiry_days = 30")
    a, b, _ = members
    soon = crm_app.clock() + timedelta(days=10)
    give(crm_app, a, 40, expires_at=soon)
    give(crm_app, a, 60, expires_at=None)
    give(crm_app, a, 100, expires_at=crm_app.clock() + timedelta(days=365))
    send(crm_app, a, b, 180)
    cap = crm_app.clock() + timedelta(days=30)
    assert open_lots(crm_app, b) == [(40, soon), (140, cap)]


def test_received_points_expire_with_the_loyalty_expiry_job(crm_app, crm_cli, tmp_path, members):
    load_policy(crm_cli, tmp_path, "expiry_days = 7")
    a, b, _ = members
    give(crm_app, a, 100)
    send(crm_app, a, b, 60)
    crm_app.clock.advance(days=8)
    ran = crm_cli("jobs", "run", "--only", "loyalty.expiry")
    assert ran.exit_code == 0, ran.stderr
    assert (balance(crm_app, a), balance(crm_app, b)) == (40, 0)
    assert kinds(crm_app, b) == [("transfer_in", 60), ("expire", -60)]


def test_a_repeated_key_returns_the_first_transfer_and_changes_nothing(
    crm_app, crm_cli, tmp_path, members
):
    load_policy(crm_cli, tmp_path, "fee = 1")
    a, b, c = members
    give(crm_app, a, 100)
    first = send(crm_app, a, b, 30, key="app-req-1")
    again = send(crm_app, a, b, 30, key="app-req-1")
    assert again == first
    assert (balance(crm_app, a), balance(crm_app, b), transfers_count(crm_app)) == (69, 30, 1)
    with pytest.raises(Conflict, match="already used by transfer 1") as err:
        send(crm_app, a, c, 30, key="app-req-1")
    assert err.value.field == "key"
    assert balance(crm_app, a) == 69


def test_show_names_the_ledger_entries_and_prints_no_dict(crm_app, crm_cli, tmp_path, members):
    from crmcore_loyalty import api as loyalty

    load_policy(crm_cli, tmp_path, "fee = 5")
    a, b, _ = members
    give(crm_app, a, 300)
    t = send(crm_app, a, b, 100)
    shown = crm_cli("transfers", "show", str(t["id"]), "--json").json()
    with crm_app.unit_of_work(readonly=True) as uow:
        ids = {e.kind: e.id for e in loyalty.ledger(uow, a) + loyalty.ledger(uow, b)}
    assert shown["entries"] == {
        "out": ids["transfer_out"],
        "fee": ids["transfer_fee"],
        "in": [ids["transfer_in"]],
    }
    text = crm_cli("transfers", "show", str(t["id"])).stdout
    assert "{" not in text and "'" not in text
    assert (
        f"sent #{ids['transfer_out']}; fee #{ids['transfer_fee']}; received #{ids['transfer_in']}"
    ) in text
