"""Several processes spend from one balance at the same moment: never an overspend, never a lost entry."""

import multiprocessing

from crmcore_loyalty import api
from crmcore_loyalty.check import check_ledger
from crmcore_loyalty.testing import spend_worker

from crmcore.testing import make_customer

WORKERS = 4
ATTEMPTS = 5
POINTS = 7
START = 60  # 8 spends of 7 fit; 20 are attempted


def test_parallel_workers_never_overspend_one_balance(crm_app, crm_database_url):
    cid = make_customer(crm_app)
    with crm_app.unit_of_work() as uow:
        api.credit(uow, cid, START, kind="adjust", reason="start")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=spend_worker, args=(crm_database_url, cid, ATTEMPTS, POINTS, barrier, results)
        )
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(o[0] == "ok" for o in outcomes), outcomes
    spent = sum(o[1] for o in outcomes)
    refused = sum(o[2] for o in outcomes)
    assert spent == START // POINTS and refused == WORKERS * ATTEMPTS - spent
    assert (
        sum(1 for o in outcomes if o[1]) >= 2
    )  # the spends really were spread over several processes
    with crm_app.unit_of_work(readonly=True) as uow:
        entries = api.ledger(uow, cid)
        assert api.balance(uow, cid) == START - spent * POINTS == START % POINTS
        assert [e.seq for e in entries] == list(
            range(1, spent + 2)
        )  # no entry lost, none duplicated
        assert sum(e.points for e in entries) == api.balance(uow, cid)
        assert check_ledger(uow)["problems"] == []
