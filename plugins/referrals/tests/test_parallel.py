"""Purchases of one friend recorded at once, each by its own application and connection (threads
released together by a barrier): the referral rewards once. SQLite serialises writers with BEGIN
IMMEDIATE; PostgreSQL locks the referral row."""

import threading

from referrals_helpers import attach, balance, load_rules, rewards

from crmcore.api import CRM, get_customer, record_interaction
from crmcore.testing import make_customer

WORKERS = 4


def test_parallel_purchases_of_one_friend_reward_once(crm_app):
    load_rules(crm_app)
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    attach(crm_app, sara, ali)
    apps = [
        CRM(crm_app.url, plugins=["loyalty", "referrals"], clock=crm_app.clock, actor=f"worker-{i}")
        for i in range(WORKERS)
    ]
    for app in apps:
        app.plugins  # loaded before the race
    barrier, outcomes = threading.Barrier(WORKERS, timeout=60), []

    def buy(app, i):
        try:
            barrier.wait()
            with app.unit_of_work() as uow:
                record_interaction(
                    uow,
                    get_customer(uow.session, sara),
                    kind="purchase",
                    amount="600000",
                    currency="IRR",
                    external_id=f"race-{i}",
                )
            outcomes.append("ok")
        except Exception as exc:  # the test fails on any of these
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=buy, args=(app, i)) for i, app in enumerate(apps)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for app in apps:
            app.dispose()
    assert outcomes == ["ok"] * WORKERS, outcomes
    assert rewards(crm_app) == [
        (sara, "friend", 0, 500, "earned"),
        (ali, "referrer", 1, 1000, "earned"),
    ]
    assert balance(crm_app, ali) == 1000
