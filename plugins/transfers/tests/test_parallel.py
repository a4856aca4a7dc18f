"""Parallel transfers from separate processes (spawned workers, each with its own connections): no
double-spend, no period limit exceeded, points conserved minus fees, no negative balance, one transfer per
idempotency key. Runs on SQLite (serialised by BEGIN IMMEDIATE) and on PostgreSQL (row locks)."""

import multiprocessing

import parallel_worker
from crmcore_loyalty import api as loyalty
from crmcore_transfers.models import COUNTED_STATUSES, Transfer
from sqlalchemy import func, select
from transfers_helpers import give, load_policy

from crmcore.testing import make_customer

WORKERS = 4
POLICY = """fee = 1
[[transfers.limits]]
period = "jalali_month"
max_count = 8
max_points = 150
"""


def test_concurrent_transfers_never_overspend_or_pass_a_limit(crm_app, crm_cli, tmp_path):
    load_policy(crm_cli, tmp_path, POLICY)
    poor = make_customer(
        crm_app, "فرستنده کم‌امتیاز"
    )  # 100 points: at most 4 transfers of 20 + 1 fee
    rich = make_customer(crm_app, "فرستنده پرامتیاز")  # plenty of points: the monthly limit binds
    members = [make_customer(crm_app, f"عضو {i}") for i in range(WORKERS)]
    give(crm_app, poor, 100)
    give(crm_app, rich, 10_000)
    for m in members:
        give(crm_app, m, 50)
    everyone = [poor, rich, *members]
    with crm_app.unit_of_work(readonly=True) as uow:
        before = sum(loyalty.balance(uow, c) for c in everyone)

    plans = []
    for i, m in enumerate(members):
        nxt = members[(i + 1) % WORKERS]
        plan = [
            (poor, m, 20, None),
            (rich, m, 30, None),
            (m, nxt, 15, None),
            (poor, members[0], 10, "shared"),
        ]
        plans.append(plan * 2 + [(rich, nxt, 30, None), (poor, nxt, 20, None), (nxt, m, 12, None)])
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(
            target=parallel_worker.run,
            args=(crm_app.url, crm_app.clock().isoformat(), plan, barrier, results),
        )
        for plan in plans
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    unexpected = [u for _, _, un in outcomes for u in un]
    assert unexpected == []
    refusals = [r for _, rs, _ in outcomes for r in rs]
    assert any("cannot send" in r and "has" in r for r in refusals)  # the poor sender ran out
    assert any(
        "over the limit of 8 transfers and 150 points sent per Jalali month" in r for r in refusals
    )

    with crm_app.unit_of_work(readonly=True) as uow:
        after = {c: loyalty.balance(uow, c) for c in everyone}
        fees = uow.session.scalar(
            select(func.coalesce(func.sum(Transfer.fee), 0)).where(Transfer.status == "completed")
        )
        per_sender = dict(
            uow.session.execute(
                select(Transfer.sender_id, func.count())
                .where(Transfer.status.in_(COUNTED_STATUSES))
                .group_by(Transfer.sender_id)
            ).all()
        )
        points_sent = dict(
            uow.session.execute(
                select(Transfer.sender_id, func.sum(Transfer.points))
                .where(Transfer.status.in_(COUNTED_STATUSES))
                .group_by(Transfer.sender_id)
            ).all()
        )
        shared = uow.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.key == "shared")
        )
        ledger_sums = {c: sum(e.points for e in loyalty.ledger(uow, c)) for c in everyone}
        lot_sums = {c: sum(lot.remaining for lot in loyalty.lots(uow, c)) for c in everyone}
    assert sum(after.values()) == before - fees  # conserved, minus the fees the club kept
    assert min(after.values()) >= 0
    assert after == ledger_sums == lot_sums  # cached balances, ledgers and lots agree
    assert per_sender[rich] <= 8 and points_sent[rich] <= 150
    assert points_sent[rich] == 150  # the limit was used to the last point, not less
    assert after[poor] < 21  # spent down until the next transfer no longer fit
    assert shared == 1
    assert all(count <= 8 for count in per_sender.values())
    assert sum(len(ok) for ok, _, _ in outcomes) >= len(per_sender)
