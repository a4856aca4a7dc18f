"""Transfers per second, one command (unit of work) each, against a raw baseline measured in the same run:
the bare ledger moves (a loyalty debit and a credit in one unit of work, no policy, limits, record or history).

    CRMCORE_PLUGINS_ONLY=loyalty,transfers python plugins/transfers/benchmarks/transfer_throughput.py [N] [DB_URL]

Default: 400 transfers on a fresh SQLite file in a temporary directory. Give a PostgreSQL URL with its own empty
schema (``…?options=-csearch_path=bench``) to measure there.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from crmcore_loyalty import api as loyalty
from crmcore_transfers import service
from crmcore_transfers.policy import validate_section

from crmcore.api import CRM, add_customer

POLICY = validate_section(
    {
        "fee": "1%",
        "recipients": "any",
        "limits": [
            {"period": "month", "max_count": 10**6, "max_points": 10**9},
            {"period": "week", "direction": "received", "max_points": 10**9},
        ],
    }
)


def setup(url: str, members: int) -> tuple[CRM, list[int]]:
    app = CRM(url, plugins=["loyalty", "transfers"], actor="bench")
    app.init()
    with app.unit_of_work() as uow:
        ids = [add_customer(uow, name=f"عضو {i}").id for i in range(members)]
        for cid in ids:
            loyalty.credit(uow, cid, 1_000_000, kind="adjust", reason="bench", expires_at=None)
    return app, ids


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    tmp = tempfile.mkdtemp()
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{Path(tmp) / 'bench.db'}"
    app, ids = setup(url, 20)

    def raw(i: int) -> None:
        a, b = ids[i % 20], ids[(i * 7 + 3) % 20]
        with app.unit_of_work() as uow:
            for cid in sorted({a, b}):
                loyalty.lock_account(uow, cid)
            out = loyalty.debit(uow, a, 10, kind="bench_out", reason="raw move")
            loyalty.credit(
                uow,
                b,
                10,
                kind="bench_in",
                reason="raw move",
                expires_at=out.consumed[0][2] if out.consumed else None,
            )

    def transfer(i: int) -> None:
        a, b = ids[i % 20], ids[(i * 7 + 3) % 20]
        if a == b:
            b = ids[(i + 1) % 20]
        with app.unit_of_work() as uow:
            service.send(uow, a, b, 10, key=f"bench-{i}", policy=POLICY)

    timed(raw, 20)  # warm up caches and connections
    raw_s = timed(raw, n)
    transfer_s = timed(transfer, n)
    print(f"database: {app.engine.dialect.name}, {n} operations each")
    print(
        f"raw ledger move (debit + credit):  {n / raw_s:8.1f}/s  ({raw_s / n * 1000:.2f} ms each)"
    )
    print(
        f"transfer (policy, limits, fee, record, history, outbox): {n / transfer_s:8.1f}/s  "
        f"({transfer_s / n * 1000:.2f} ms each)"
    )
    print(f"ratio transfer/raw time: {transfer_s / raw_s:.2f}x")
    app.dispose()


if __name__ == "__main__":
    main()
