"""The SLA job (`crm jobs run --only tickets.sla`) over many open tickets, against a raw read of the same rows.

Run: CRMCORE_PLUGINS_ONLY=tickets .venv/bin/python plugins/tickets/benchmarks/bench_sla_job.py [N]
Builds a throwaway SQLite database with N open tickets (default 2000), then times: the raw baseline
(SELECT of the columns the job reads), and one job run that checks every ticket and flags the breaches.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, text

from crmcore.api import CRM, add_customer
from crmcore.testing import FrozenClock


def main(n: int) -> None:
    from crmcore_tickets.models import Ticket
    from crmcore_tickets.sla import check_tickets, set_policy

    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(datetime(2025, 1, 4, 6, 0, tzinfo=timezone.utc))
        app = CRM(f"sqlite:///{tmp}/bench.db", plugins=["tickets"], clock=clock)
        app.init()
        with app.unit_of_work() as uow:
            cid = add_customer(uow, name="بنچمارک").id
            policy = set_policy(
                uow, "normal", priority="normal", first_response="2h", resolution="16h"
            )
            now = uow.now()
            rows = [
                {
                    "customer_id": cid,
                    "subject": f"t{i}",
                    "channel": "web",
                    "priority": "normal",
                    "state": "open",
                    "created_at": now - timedelta(minutes=i % 5000),
                    "updated_at": now,
                    "sla_policy_id": policy.id,
                    "paused_seconds": 0,
                    "reopen_count": 0,
                    "first_response_due_at": now + timedelta(minutes=(i % 600) - 300),
                    "resolution_due_at": now + timedelta(minutes=(i % 3000) - 300),
                }
                for i in range(n)
            ]
            uow.session.execute(insert(Ticket), rows)
        later = now + timedelta(hours=1)
        with app.unit_of_work(readonly=True) as uow:
            t0 = time.perf_counter()
            raw = uow.session.execute(
                select(Ticket.id, Ticket.first_response_due_at, Ticket.resolution_due_at).where(
                    Ticket.state.in_(("new", "open"))
                )
            ).all()
            t_raw = time.perf_counter() - t0
        with app.unit_of_work() as uow:
            t0 = time.perf_counter()
            summary = check_tickets(uow, later)
            uow.flush_outbox()
            uow.session.flush()
            t_job = time.perf_counter() - t0
        with app.engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM outbox")).scalar()
        app.dispose()
    print(f"SLA job over {n} open tickets ({len(raw)} read by the baseline)")
    print(f"  raw SELECT of due times (baseline): {t_raw * 1000:8.1f} ms")
    print(
        f"  job run (check, flag, announce):    {t_job * 1000:8.1f} ms   {summary}, {events} outbox rows"
    )
    print(f"  ratio job / baseline: {t_job / t_raw:.1f}x  ({t_job / n * 1e6:.0f} µs per ticket)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
