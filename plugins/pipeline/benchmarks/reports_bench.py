"""How fast are the pipeline's reports and board on a busy pipeline? Prints each timing and its ratio to a raw
baseline measured in the same run: one plain SQL pass (sqlite3, no ORM) over the same rows the report reads.

    CRMCORE_PLUGINS_ONLY=pipeline .venv/bin/python plugins/pipeline/benchmarks/reports_bench.py [DEALS]
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n_deals: int = 20_000) -> None:
    from crmcore_pipeline import service
    from crmcore_pipeline.models import Deal, StageHistory
    from sqlalchemy import insert

    from crmcore.api import CRM, ReportParams, run_report

    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    app = CRM(url, plugins=["pipeline"])
    app.init()
    rng = random.Random(1403)
    with app.unit_of_work() as uow:
        from crmcore.api import add_customer

        customers = [add_customer(uow, name=f"مشتری {i}").id for i in range(200)]
        stages = [s for s in service.get_pipeline(uow).stages]
        pipe_id = stages[0].pipeline_id
        start = datetime(2025, 1, 1, tzinfo=timezone.utc)
        deals, history = [], []
        for i in range(1, n_deals + 1):
            created = start + timedelta(hours=rng.randrange(0, 24 * 300))
            depth = rng.randrange(1, 6)
            path = stages[: min(depth, 4)] + ([stages[4 + rng.randrange(2)]] if depth == 5 else [])
            at = created
            for j, s in enumerate(path):
                history.append(
                    {
                        "deal_id": i,
                        "from_stage_id": path[j - 1].id if j else None,
                        "to_stage_id": s.id,
                        "at": at,
                        "actor": "bench",
                    }
                )
                at += timedelta(days=rng.randrange(1, 10))
            last = path[-1]
            deals.append(
                {
                    "id": i,
                    "title": f"deal {i}",
                    "customer_id": rng.choice(customers),
                    "pipeline_id": pipe_id,
                    "stage_id": last.id,
                    "amount_minor": rng.randrange(1, 1000) * 1_000_000,
                    "currency": "IRR",
                    "expected_close": date(2025, 1, 1) + timedelta(days=rng.randrange(0, 400)),
                    "status": last.kind,
                    "created_at": created,
                    "stage_entered_at": at,
                    "last_activity_at": at,
                    "closed_at": at if last.kind != "open" else None,
                }
            )
        uow.session.execute(insert(Deal), deals)
        uow.session.execute(insert(StageHistory), history)
    raw = sqlite3.connect(tmp / "bench.db")

    def baseline_history():
        raw.execute(
            "SELECT deal_id, to_stage_id, at FROM pipeline_stage_history ORDER BY deal_id, at, id"
        ).fetchall()

    def baseline_deals():
        raw.execute(
            "SELECT id, stage_id, amount_minor, currency, expected_close, probability FROM pipeline_deals "
            "WHERE status = 'open'"
        ).fetchall()

    def report(name, **kw):
        def run():
            with app.unit_of_work() as uow:
                run_report(uow, name, ReportParams(**kw))

        return run

    def board():
        with app.unit_of_work() as uow:
            service.board(uow)

    base_h, base_d = best_of(baseline_history), best_of(baseline_deals)
    print(
        f"pipeline reports on {n_deals:,} deals, {len(history):,} stage changes (SQLite, best of 3)"
    )
    for label, fn, base in [
        (
            "pipeline.funnel (jalali months)",
            report("pipeline.funnel", period="jalali_month", calendar="jalali"),
            base_h,
        ),
        (
            "pipeline.forecast (jalali months)",
            report("pipeline.forecast", period="jalali_month", calendar="jalali"),
            base_d,
        ),
        ("pipeline.stale (14 days)", report("pipeline.stale"), base_d),
        ("board (open deals, all columns)", board, base_d),
    ]:
        t = best_of(fn)
        print(
            f"  {label:36s} {t * 1000:8.1f} ms   raw SQL pass {base * 1000:7.1f} ms   ratio {t / base:6.1f}x"
        )
    raw.close()
    app.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
