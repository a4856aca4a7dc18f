"""Purchases of one friend recorded at once, from separate processes: the referral rewards once (SQLite
serialises writers with BEGIN IMMEDIATE; PostgreSQL locks the referral row)."""
import multiprocessing

from crmcore.testing import make_customer

import parallel_worker
from referrals_helpers import attach, balance, load_rules, rewards

WORKERS = 4


def test_parallel_purchases_of_one_friend_reward_once(crm_app):
    load_rules(crm_app)
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    attach(crm_app, sara, ali)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=parallel_worker.run,
                         args=(crm_app.url, sara, 600_000, str(i), barrier, results))
             for i in range(WORKERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert outcomes.count(("ok", outcomes[0][1])) <= 1 and all(o[0] == "ok" for o in outcomes), outcomes
    assert rewards(crm_app) == [(sara, "friend", 0, 500, "earned"), (ali, "referrer", 1, 1000, "earned")]
    assert balance(crm_app, ali) == 1000
