"""Rows sent in the order of their most scattered index (`insert_rows(..., index_order=...)`) vs the same rows
in the order they come, into the kernel's `customer_search_tokens` on SQLite.

Run: .venv/bin/python benchmarks/index_order.py [--customers 300000] [--repeat 3]

Each customer brings three name tokens (two words and the two joined), in batches of 2,000 customers as an
import sends them, in one transaction (the customers themselves are inserted, untimed, before their tokens).
The baseline is the same rows through the same `insert_rows` without `index_order`. The figures are CPU
seconds of the token inserts and the commit (best of --repeat, each run on a fresh database file; the two
ways alternate so that a slow moment of the machine hits both).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

BATCH = 2000


def words(rng: random.Random, n: int = 3000) -> list[str]:
    letters = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیabcdefghijklmnopqrstuvwxyz"
    return list({"".join(rng.choice(letters) for _ in range(rng.randint(3, 8))) for _ in range(n)})


def run(customers: int, sorted_: bool, tmp: Path) -> float:
    from crmcore.app import CRM
    from crmcore.storage.bulk import insert_rows
    from crmcore.storage.models import Customer, CustomerSearchToken

    rng = random.Random(1405)  # the same tokens for both ways
    pool = words(rng)
    app = CRM(f"sqlite:///{tmp / f'tokens-{time.time_ns()}.db'}", plugins=[], actor="bench")
    app.init()
    table = CustomerSearchToken.__table__
    now = app.now()
    spent = 0.0
    with app.unit_of_work() as uow:
        session = uow.session
        for start in range(1, customers + 1, BATCH):
            ids = range(start, min(start + BATCH, customers + 1))
            insert_rows(
                session,
                Customer.__table__,
                [  # the tokens' customers (not timed)
                    {
                        "id": cid,
                        "kind": "person",
                        "display_name": "x",
                        "search_key": "x",
                        "attributes": {},
                        "consent_sms": False,
                        "consent_email": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for cid in ids
                ],
            )
            rows = []
            for cid in ids:
                first, last = rng.sample(pool, 2)
                rows += [{"customer_id": cid, "token": t} for t in (first, last, first + last)]
            began = time.process_time()
            insert_rows(session, table, rows, index_order="token" if sorted_ else None)
            spent += time.process_time() - began
        began = time.process_time()
    spent += time.process_time() - began  # the commit writes what the page cache still holds
    app.dispose()
    return spent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    plain, ordered = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.repeat):
            plain.append(run(args.customers, False, Path(d)))
            ordered.append(run(args.customers, True, Path(d)))
    tokens = 3 * args.customers
    print(
        f"name tokens into customer_search_tokens on SQLite: {args.customers:,} customers, {tokens:,} rows"
    )
    print(
        f"  in the order they come (baseline): {min(plain):6.2f} s CPU, {tokens / min(plain):>9,.0f} rows/s "
        f"(runs: {'/'.join(f'{x:.2f}' for x in plain)})"
    )
    print(
        f"  in index order                   : {min(ordered):6.2f} s CPU, {tokens / min(ordered):>9,.0f} rows/s "
        f"(runs: {'/'.join(f'{x:.2f}' for x in ordered)})"
    )
    print(f"  ratio index order / baseline     : {min(ordered) / min(plain):.2f}x")


if __name__ == "__main__":
    main()
