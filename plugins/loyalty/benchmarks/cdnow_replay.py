"""Replay the CDNOW purchase history (shared/data/cdnow, 69,659 purchases) through the kernel, with and without
loyalty, on SQLite; print purchases/s, loyalty's own accrual rate, and the ratio to the kernel-only replay.

Run: .venv/bin/python plugins/loyalty/benchmarks/cdnow_replay.py [--customers N] [--batch 5000]

Both runs record every purchase with the kernel's ``record_interaction`` (the path ``crm interactions import``
takes when a plugin listens to purchases), in date order, ``--batch`` purchases per unit of work, into a fresh
database whose customers were bulk-inserted beforehand (not timed). The loyalty run uses a program of 1 point
per dollar, a 25-point welcome bonus and a 500-point cap, and its points are checked against an independent
computation before the figures are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select


def bulk_customers(app, externals: list[str]) -> dict[str, int]:
    from crmcore.api import Customer, utcnow

    now = utcnow()
    with app.unit_of_work() as uow:
        uow.session.execute(
            insert(Customer.__table__),
            [
                {
                    "id": i + 1,
                    "kind": "person",
                    "display_name": f"CDNOW {ext}",
                    "search_key": f"cdnow {ext}",
                    "external_id": f"cdnow-{ext}",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                    "consent_sms": False,
                    "consent_email": False,
                }
                for i, ext in enumerate(externals)
            ],
        )
    return {ext: i + 1 for i, ext in enumerate(externals)}


def replay(app, rows, ids, batch: int) -> float:
    from crmcore.api import Customer, record_interaction

    zone = ZoneInfo("Asia/Tehran")
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    started = time.perf_counter()
    for start in range(0, len(order), batch):
        with app.unit_of_work() as uow:
            customers: dict[int, Customer] = {}
            for i in order[start : start + batch]:
                cust, day, cds, dollars = rows[i]
                cid = ids[cust]
                customer = customers.get(cid)
                if customer is None:
                    customer = customers[cid] = uow.session.get(Customer, cid)
                record_interaction(
                    uow,
                    customer,
                    kind="purchase",
                    amount=dollars,
                    currency="USD",
                    occurred_at=datetime(
                        int(day[:4]), int(day[4:6]), int(day[6:]), 12, tzinfo=zone
                    ),
                    external_id=f"cdnow-{i}",
                    payload={"cds": cds},
                )
    return time.perf_counter() - started


def main() -> None:
    from crmcore_loyalty import batch as loyalty_batch
    from crmcore_loyalty.models import LoyaltyAccount
    from crmcore_loyalty.testing import (
        CDNOW_PROGRAM,
        cdnow_expected_points,
        cdnow_path,
        cdnow_rows,
        load,
    )

    from crmcore.api import CRM

    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, help="only customers 1..N (default: all 23,570)")
    parser.add_argument("--batch", type=int, default=5000, help="purchases per unit of work")
    args = parser.parse_args()
    path = cdnow_path()
    if path is None:
        raise SystemExit("shared/data/cdnow/CDNOW_master.txt not found beside the repository")
    rows = cdnow_rows(path, args.customers)
    externals = sorted({r[0] for r in rows})
    print(
        f"CDNOW: {len(rows):,} purchases by {len(externals):,} customers, {args.batch} per unit of work, SQLite"
    )

    accrual_time = 0.0
    real_accrue = loyalty_batch.accrue_many

    def timed_accrue(uow, items):
        nonlocal accrual_time
        t = time.perf_counter()
        real_accrue(uow, items)
        accrual_time += time.perf_counter() - t

    loyalty_batch.accrue_many = timed_accrue
    results = {}
    for label, plugins in (("kernel only", []), ("with loyalty", ["loyalty"])):
        with tempfile.TemporaryDirectory() as tmp:
            app = CRM(f"sqlite:///{tmp}/replay.db", plugins=plugins)
            app.init()
            ids = bulk_customers(app, externals)
            if plugins:
                load(app, CDNOW_PROGRAM)
            seconds = replay(app, rows, ids, args.batch)
            results[label] = seconds
            print(f"{label:>13}: {seconds:7.2f} s  {len(rows) / seconds:8,.0f} purchases/s")
            if plugins:
                expected = cdnow_expected_points(rows)
                with app.unit_of_work(readonly=True) as uow:
                    got = dict(
                        uow.session.execute(
                            select(LoyaltyAccount.customer_id, LoyaltyAccount.balance)
                        ).all()
                    )
                    total = uow.session.scalar(select(func.sum(LoyaltyAccount.balance)))
                wrong = [ext for ext in externals if got.get(ids[ext], 0) != expected.get(ext, 0)]
                print(
                    f"{'':>13}  points {int(total):,}; independent computation {sum(expected.values()):,}; "
                    f"{len(wrong)} members differ"
                )
            app.dispose()
    ratio = results["with loyalty"] / results["kernel only"]
    print(
        f"loyalty accrual alone: {accrual_time:.2f} s, {len(rows) / accrual_time:,.0f} purchases/s"
    )
    print(f"ratio with loyalty / kernel only (time): {ratio:.2f}")


if __name__ == "__main__":
    main()
