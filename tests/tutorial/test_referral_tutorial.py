"""The plugin of docs/tutorial.md works: the referrer earns points once, after the newcomer's first purchase."""

import importlib

import pytest

from crmcore.api import CRM, ValidationError, add_customer
from crmcore.testing import make_customer, outbox_events, record_purchase


@pytest.fixture
def app(crm_database_url):
    from crmcore.plugin_host import installed_manifests

    if "loyalty" not in installed_manifests():
        pytest.skip("the tutorial's plugin builds on loyalty")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    hooks = importlib.import_module("crmcore_referral.hooks")
    specs = importlib.import_module("crmcore_referral.hookspecs")
    app = CRM(crm_database_url, plugins=["loyalty"], extra_plugins=[("referral", hooks, specs)])
    from crmcore_loyalty.testing import load_base

    load_base(app)
    yield app
    app.dispose()


def balance(app, cid):
    from crmcore_loyalty import api

    with app.unit_of_work(readonly=True) as uow:
        return api.balance(uow, cid)


def test_the_referrer_earns_once_after_the_first_purchase(app):
    sara = make_customer(app, "سارا احمدی")
    reza = make_customer(app, "رضا کریمی", attributes={"referred_by": sara})
    assert balance(app, sara) == 0
    record_purchase(app, reza, 1_000_000)
    record_purchase(app, reza, 2_000_000)
    assert balance(app, sara) == 500
    assert balance(app, reza) == 300  # his own purchases earn by the program's rule
    rewarded = outbox_events(app, "referral_rewarded")
    assert [e["payload"] for e in rewarded] == [{"referrer": sara, "newcomer": reza, "points": 500}]
    with app.unit_of_work(readonly=True) as uow:
        from crmcore.api import customer_to_dict, get_customer

        profile = customer_to_dict(get_customer(uow.session, sara), uow=uow)
    assert profile["sections"]["referral"] == {"rewarded_referrals": 1, "points": 500}


def test_an_unknown_referrer_is_refused(app):
    with pytest.raises(ValidationError, match="no active customer with id 999"):
        with app.unit_of_work() as uow:
            add_customer(uow, name="x", attributes={"referred_by": 999})
    with pytest.raises(ValidationError, match="not a whole number"):
        with app.unit_of_work() as uow:
            add_customer(uow, name="x", attributes={"referred_by": "sara"})
