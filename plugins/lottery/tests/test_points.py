"""Entries bought with loyalty points (runs when the loyalty plugin is installed:
CRMCORE_PLUGINS_ONLY=loyalty,lottery)."""

import pytest
from crmcore_lottery.campaigns import get_campaign
from crmcore_lottery.entries import buy_with_points
from crmcore_lottery.models import LotteryEntry
from lottery_test_helpers import close, count, new_campaign, weights

from crmcore.api import Conflict, ValidationError, get_customer
from crmcore.testing import installed_manifests

pytestmark = [
    pytest.mark.skipif(
        "loyalty" not in installed_manifests(), reason="the loyalty plugin is not installed"
    ),
    pytest.mark.crm_plugins("loyalty", "lottery"),
]


@pytest.fixture
def crm_plugins():
    return ["loyalty", "lottery"]


def give_points(app, cid, points):
    from crmcore_loyalty import api

    with app.unit_of_work() as uow:
        api.credit(uow, cid, points, kind="bonus", reason="test points")


def balance(app, cid):
    from crmcore_loyalty import api

    with app.unit_of_work(readonly=True) as uow:
        return api.balance(uow, cid)


def buy(app, cid, n, key=None, campaign="spring"):
    with app.unit_of_work() as uow:
        entry = buy_with_points(
            uow, get_campaign(uow, campaign, lock=True), get_customer(uow.session, cid), n, key=key
        )
        return entry.id, entry.weight


def test_entries_bought_with_points_debit_the_ledger_once_per_key(crm_app):
    from crmcore_loyalty import api

    from crmcore.testing import make_customer

    new_campaign(crm_app, points_per_entry=250)
    cid = make_customer(crm_app)
    give_points(crm_app, cid, 1000)
    first = buy(crm_app, cid, 3, key="order-77")
    assert first[1] == 3 and balance(crm_app, cid) == 250
    assert buy(crm_app, cid, 3, key="order-77") == first  # a retry spends nothing more
    assert balance(crm_app, cid) == 250 and weights(crm_app) == {cid: 3}
    with crm_app.unit_of_work(readonly=True) as uow:
        spent = [e for e in api.ledger(uow, cid) if e.points < 0]
    assert [(e.kind, e.points) for e in spent] == [("lottery", -750)]
    with pytest.raises(Conflict, match="already used for 3 entries"):
        buy(crm_app, cid, 1, key="order-77")


def test_buying_more_than_the_balance_is_refused_and_nothing_changes(crm_app):
    from crmcore.testing import make_customer

    new_campaign(crm_app, points_per_entry=250)
    cid = make_customer(crm_app)
    give_points(crm_app, cid, 400)
    with pytest.raises(ValidationError, match="has 400 points; cannot take 500"):
        buy(crm_app, cid, 2)
    assert balance(crm_app, cid) == 400 and count(crm_app, LotteryEntry) == 0


def test_points_cannot_buy_entries_after_close(crm_app):
    from crmcore.testing import make_customer

    new_campaign(crm_app, points_per_entry=100)
    cid = make_customer(crm_app)
    give_points(crm_app, cid, 400)
    close(crm_app)
    with pytest.raises(Conflict, match="frozen"):
        buy(crm_app, cid, 1)
    assert balance(crm_app, cid) == 400


def test_cli_enter_with_points(crm_app, crm_cli):
    from crmcore.testing import make_customer

    new_campaign(crm_app, points_per_entry=100)
    cid = make_customer(crm_app, phones=["09123334444"])
    give_points(crm_app, cid, 300)
    out = crm_cli(
        "lottery",
        "enter",
        "spring",
        "09123334444",
        "--points-entries",
        "2",
        "--key",
        "k1",
        "--json",
    )
    assert out.exit_code == 0, out
    assert out.json()["entries"] == 2 and out.json()["details"] == {"points": 200}
    poor = crm_cli("lottery", "enter", "spring", "09123334444", "--points-entries", "2")
    assert poor.exit_code == 1 and "cannot take 200" in poor.stderr
    assert balance(crm_app, cid) == 100
