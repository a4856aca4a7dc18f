"""The accept flow (pending → completed / declined / cancelled / expired) and the admin reversal."""

from datetime import datetime, timedelta, timezone

import pytest
from transfers_helpers import act, balance, give, kinds, load_policy, open_lots, send, show

from crmcore.api import Conflict, ValidationError
from crmcore.testing import make_customer, outbox_events

UTC = timezone.utc
PENDING = 'acceptance = "required"\naccept_within_days = 3\nfee = "10%"'


@pytest.fixture
def pair(crm_app, crm_cli, tmp_path):
    load_policy(crm_cli, tmp_path, PENDING)
    a, b = make_customer(crm_app, "نرگس"), make_customer(crm_app, "کیان")
    return a, b


def test_pending_holds_the_points_until_the_recipient_accepts(crm_app, pair):
    a, b = pair
    give(crm_app, a, 200)
    t = send(crm_app, a, b, 100)
    assert (
        t["status"] == "pending"
        and t["respond_by"] == (crm_app.clock() + timedelta(days=3)).isoformat()
    )
    assert (balance(crm_app, a), balance(crm_app, b)) == (
        90,
        0,
    )  # held: neither can spend them twice
    assert [e["event"] for e in outbox_events(crm_app) if e["event"].startswith("transfers")] == [
        "transfers_transfer_requested"
    ]
    crm_app.clock.advance(days=1)
    done = act(crm_app, "accept", t["id"])
    assert done["status"] == "completed"
    assert (balance(crm_app, a), balance(crm_app, b)) == (90, 100)
    assert [h["event"] for h in show(crm_app, t["id"])["history"]] == ["requested", "accepted"]
    with pytest.raises(
        Conflict, match=f"transfer {t['id']} is completed; only a pending transfer can be accepted"
    ):
        act(crm_app, "accept", t["id"])


@pytest.mark.parametrize("action, status", [("decline", "declined"), ("cancel", "cancelled")])
def test_decline_and_cancel_return_amount_and_fee_with_the_original_expiry(
    crm_app, pair, action, status
):
    a, b = pair
    expiry = datetime(2025, 6, 1, 20, 30, tzinfo=UTC)
    give(crm_app, a, 150, expires_at=expiry)
    give(crm_app, a, 50)
    t = send(
        crm_app, a, b, 180
    )  # 180 + fee 18 = 198: 150 expiring lot + 48 of the never-expiring one
    assert open_lots(crm_app, a) == [(2, None)]
    done = act(crm_app, action, t["id"], "اشتباه شد")
    assert done["status"] == status
    assert open_lots(crm_app, a) == [(150, expiry), (2, None), (18, None), (30, None)]
    assert (balance(crm_app, a), balance(crm_app, b)) == (200, 0)
    assert kinds(crm_app, a)[-3:] == [
        ("transfer_return", 150),
        ("transfer_return", 30),
        ("transfer_fee_refund", 18),
    ]
    assert show(crm_app, t["id"])["history"][-1] == {
        **show(crm_app, t["id"])["history"][-1],
        "event": status,
        "reason": "اشتباه شد",
    }
    with pytest.raises(Conflict, match=f"is {status}; only a pending transfer can be"):
        act(crm_app, "cancel", t["id"])


def test_unanswered_transfers_expire_through_the_job_and_cannot_be_accepted_late(
    crm_app, crm_cli, pair
):
    a, b = pair
    give(crm_app, a, 100)
    t = send(crm_app, a, b, 50)
    crm_app.clock.advance(days=3, minutes=1)
    with pytest.raises(Conflict, match="has lapsed"):
        act(crm_app, "accept", t["id"])
    assert balance(crm_app, a) == 45
    ran = crm_cli("jobs", "run", "--only", "transfers.expire", "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json()[0]["summary"] == {"expired": 1, "points_returned": 55}
    assert show(crm_app, t["id"])["status"] == "expired"
    assert (balance(crm_app, a), balance(crm_app, b)) == (100, 0)
    again = crm_cli("jobs", "run", "--only", "transfers.expire", "--json")
    assert again.json()[0]["summary"] == {"expired": 0, "points_returned": 0}


def test_reversal_restores_both_sides_exactly(crm_app, crm_cli, tmp_path):
    load_policy(crm_cli, tmp_path, "fee = 4\nexpiry_days = 60")
    a, b = make_customer(crm_app, "حمید"), make_customer(crm_app, "یاسمن")
    expiry = datetime(2025, 12, 1, 20, 30, tzinfo=UTC)
    give(crm_app, a, 100, expires_at=expiry)
    give(crm_app, b, 10)
    before_a, before_b = open_lots(crm_app, a), open_lots(crm_app, b)
    t = send(crm_app, a, b, 80)
    with pytest.raises(ValidationError, match="needs a reason"):
        act(crm_app, "reverse", t["id"], " ")
    done = act(crm_app, "reverse", t["id"], "کلاهبرداری گزارش شد")
    assert done["status"] == "reversed" and done["reversed_at"]
    assert (balance(crm_app, a), balance(crm_app, b)) == (100, 10)
    assert open_lots(crm_app, b) == before_b
    assert sorted(open_lots(crm_app, a)) == sorted([(80, expiry), (4, expiry), (16, expiry)])
    assert sum(r for r, _ in open_lots(crm_app, a)) == before_a[0][0]
    assert [k for k, _ in kinds(crm_app, b)] == ["adjust", "transfer_in", "transfer_reversal"]
    with pytest.raises(Conflict, match="is reversed; only a completed transfer can be reversed"):
        act(crm_app, "reverse", t["id"], "again")


def test_reversal_is_refused_when_the_recipient_already_spent_the_points(
    crm_app, crm_cli, tmp_path
):
    from crmcore_loyalty import api as loyalty

    load_policy(crm_cli, tmp_path, "")
    a, b = make_customer(crm_app, "آرش"), make_customer(crm_app, "شیرین")
    give(crm_app, a, 100)
    t = send(crm_app, a, b, 70)
    with crm_app.unit_of_work() as uow:
        loyalty.debit(uow, b, 25, kind="redeem", reason="خرید با امتیاز")
    with pytest.raises(
        Conflict, match=f"customer {b} already spent or lost to expiry 25 of the 70 points"
    ) as err:
        act(crm_app, "reverse", t["id"], "درخواست مشتری")
    assert "nothing was changed" in str(err.value)
    assert (balance(crm_app, a), balance(crm_app, b), show(crm_app, t["id"])["status"]) == (
        30,
        45,
        "completed",
    )


def test_a_pending_transfer_cannot_be_reversed_only_cancelled(crm_app, pair):
    a, b = pair
    give(crm_app, a, 100)
    t = send(crm_app, a, b, 10)
    with pytest.raises(Conflict, match="a pending one can be cancelled or declined"):
        act(crm_app, "reverse", t["id"], "x")
