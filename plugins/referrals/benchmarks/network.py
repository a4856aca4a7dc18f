"""The network report of one member with many descendants, beside the bare recursive query it runs.

Run: .venv/bin/python plugins/referrals/benchmarks/network.py [--people 10000] [--db-url URL]

Builds a referral tree of --people descendants below one member (a bushy tree three levels deep: each
member brings about 22 friends) with bulk inserts, then times ``service.network`` (counts per level and
the nearest 50 people, as ``crm referrals network`` shows them) and, in the same run, the bare recursive
CTE counting the same descendants through the raw DB-API connection. Prints p50/p95 of both and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


def build(url: str, people: int):
    from crmcore_referrals.models import Referral
    from sqlalchemy import insert

    from crmcore.api import CRM, Customer

    app = CRM(url, plugins=["referrals"])
    app.init()
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with app.engine.begin() as conn:
        conn.execute(
            insert(Customer),
            [
                {
                    "id": i,
                    "display_name": f"member {i}",
                    "search_key": f"m{i}",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, people + 2)
            ],
        )
        rows, frontier, next_id = [], [1], 2
        while next_id <= people + 1:
            new = []
            for parent in frontier:
                for _ in range(22):
                    if next_id > people + 1:
                        break
                    rows.append(
                        {
                            "friend_id": next_id,
                            "referrer_id": parent,
                            "code": "X",
                            "source": "import",
                            "attached_at": now,
                            "status": "qualified" if next_id % 3 else "pending",
                            "spent_minor": 0,
                        }
                    )
                    new.append(next_id)
                    next_id += 1
            frontier = new
        conn.execute(insert(Referral), rows)
    return app


@contextmanager
def scratch(db_url: str | None, tmp: str):
    """A fresh SQLite file, or a throwaway schema of the PostgreSQL database (dropped afterwards)."""
    if not db_url:
        yield f"sqlite:///{Path(tmp) / 'network.db'}"
        return
    import os

    from sqlalchemy import create_engine, text

    from crmcore.testing.database import with_search_path

    schema = f"bench_referrals_{os.getpid()}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(db_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--db-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch(args.db_url, tmp) as url:
        app = build(url, args.people)
        from crmcore_referrals import service

        def report():
            with app.unit_of_work(readonly=True) as uow:
                data = service.network(uow, 1, depth=3)
            assert data["total"] == args.people, data["total"]

        bare_sql = (
            "WITH RECURSIVE t(id, lv) AS (SELECT friend_id, 1 FROM referrals_referrals "
            "WHERE referrer_id = 1 UNION ALL SELECT r.friend_id, t.lv + 1 FROM referrals_referrals r "
            "JOIN t ON r.referrer_id = t.id WHERE t.lv < 3) SELECT lv, count(*) FROM t GROUP BY lv"
        )

        def bare():
            raw = app.engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute(bare_sql)
                assert sum(n for _, n in cur.fetchall()) == args.people
            finally:
                raw.close()

        report(), bare()  # warm
        ours, base = [], []
        for _ in range(args.repeat):  # alternate, so a noisy phase hits both alike
            ours += timed(report, 1)
            base += timed(bare, 1)
        p = lambda xs, q: statistics.quantiles(xs, n=100)[q - 1]  # noqa: E731
        print(
            f"network of one member, {args.people:,} descendants in 3 levels ({url.split(':')[0]}):"
        )
        print(
            f"  service.network : p50 {statistics.median(ours):7.1f} ms  p95 {p(ours, 95):7.1f} ms"
        )
        print(
            f"  bare CTE (count): p50 {statistics.median(base):7.1f} ms  p95 {p(base, 95):7.1f} ms"
        )
        print(f"  ratio           : {statistics.median(ours) / statistics.median(base):.2f}x")
        app.dispose()


if __name__ == "__main__":
    main()
