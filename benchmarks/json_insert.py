"""How an import's writer thread sends a batch of customers to SQLite (`crmcore.storage.bulk.JsonInsert`):
the batch-wide values bound once as parameters vs every column in every row's JSON, with the driver's
`executemany` as the raw baseline.

Run: .venv/bin/python benchmarks/json_insert.py [--customers 95000] [--repeat 5]

The rows are what an import writes into `customers` (14 columns; the kind, the consents, the empty attributes
and the two timestamps are the same in every row of a batch), in batches of 2,000, each batch encoded as
JSON and inserted with `INSERT … SELECT … FROM json_each(?)`, in one transaction that is rolled back after
each run. Printed: the best wall time of --repeat runs of each way (the ways alternate, so a slow moment of
the machine hits all of them) and the ratios to `executemany`. The writer thread cannot use `executemany`
itself: it would need Python's GIL back after every row while the import's main thread is busy.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

BATCH = 2000


def rows(n: int) -> list[tuple]:
    now = "2026-11-26 10:00:00.000000"
    return [
        (
            i,
            "person",
            f"علی محمدی {i}",
            f"علی محمدی {i % 5000}",
            f"C{i:07d}" if i % 3 == 0 else None,
            f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
            "تهران" if i % 2 else "Tehran",
            None,
            None,
            0,
            0,
            "{}",
            now,
            now,
        )
        for i in range(1, n + 1)
    ]


def main() -> None:
    from crmcore.app import CRM
    from crmcore.storage.background import BackgroundWriter
    from crmcore.storage.bulk import _shape
    from crmcore.storage.models import Customer

    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=95_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data = rows(args.customers)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.db"
        app = CRM(f"sqlite:///{path}", plugins=[], actor="bench")
        app.init()
        with app.engine.connect() as conn:
            sql, names, _convert, json_insert = _shape(
                conn,
                Customer.__table__,
                (
                    "id",
                    "kind",
                    "display_name",
                    "search_key",
                    "external_id",
                    "birthday",
                    "city",
                    "address",
                    "owner",
                    "consent_sms",
                    "consent_email",
                    "attributes",
                    "created_at",
                    "updated_at",
                ),
                tuples=True,
            )
        app.dispose()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA cache_size=-32768")

        class Sink:  # stands for the writer thread: runs the job at once, in this thread
            def submit_json(self, statement, payload, params, count, table=None):
                db.execute(statement, (payload, *params))

            encode = staticmethod(BackgroundWriter.encode)

        every_column = json_insert._statement((), False, len(names))

        def constants_bound() -> None:
            for start in range(0, len(data), BATCH):
                json_insert.submit(Sink(), data[start : start + BATCH])

        def all_in_json() -> None:
            for start in range(0, len(data), BATCH):
                db.execute(every_column, (BackgroundWriter.encode(data[start : start + BATCH]),))

        def executemany() -> None:
            db.executemany(sql, data)

        ways = {
            "executemany (baseline)": executemany,
            "every column in the JSON": all_in_json,
            "batch-wide values bound": constants_bound,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeat):
            for name, way in ways.items():
                db.execute("BEGIN IMMEDIATE")
                began = time.perf_counter()
                way()
                times[name].append(time.perf_counter() - began)
                assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == len(data)
                db.execute("ROLLBACK")
        db.close()
    base = min(times["executemany (baseline)"])
    print(
        f"{len(data):,} customers into customers on SQLite {sqlite3.sqlite_version}, batches of {BATCH:,}"
    )
    for name, spent in times.items():
        print(
            f"  {name:26}: {min(spent):6.3f} s, {len(data) / min(spent):>9,.0f} rows/s, "
            f"{min(spent) / base:.2f}x executemany (runs: {'/'.join(f'{x:.2f}' for x in spent)})"
        )


if __name__ == "__main__":
    main()
