"""Rows merged into stored customers: written a batch at a time (`crmcore/importing/stored.py`) vs through
`update_customer` one customer at a time, the raw baseline, measured in the same run.

Run: .venv/bin/python benchmarks/import_merges.py [--customers 20000] [--repeat 3]

Each run imports N generated customers into a fresh SQLite database (not timed), then times the import of a
second sheet holding the same N people, each with a new tag and (when they had none) an email, so that
every row is merged into a stored customer (audit entry and `crm_customer_updated` event each). The
importer takes `update_customer` when a plugin implements `crm_customer_updated`; the baseline registers
such a plugin (doing nothing), the other way none. The ways alternate, so a slow moment of the machine hits
both; printed: the best wall and CPU time of each and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import tempfile
import time
from pathlib import Path

from crmcore.api import hookimpl

ROOT = Path(__file__).resolve().parents[1]


class ListensToUpdates:
    """A plugin implementing crm_customer_updated: merges then go through update_customer."""

    @hookimpl
    def crm_customer_updated(self, uow, customer, changes):
        return None


def sheets(tmp: Path, n: int) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location(
        "import_benchmark", ROOT / "benchmarks" / "import.py"
    )
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    first = tmp / "customers.csv"
    generator.generate(first, n)
    with open(first, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    tag, email = header.index("برچسب"), header.index("ایمیل")
    again = [header] + [[*r[:tag], "جدید", *r[tag + 1 :]] for r in rows[1:]]
    for n_row, r in enumerate(again[1:]):
        r[email] = r[email] or f"again{n_row}@mail.ir"
    second = tmp / "again.csv"
    with open(second, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(again)
    return first, second


def run_once(tmp: Path, first: Path, second: Path, through_orm: bool) -> tuple[float, float, int]:
    from crmcore.app import CRM
    from crmcore.importing import import_customers

    extra = [("listens_to_updates", ListensToUpdates(), None)] if through_orm else []
    app = CRM(
        f"sqlite:///{tmp / f'merges-{time.time_ns()}.db'}",
        plugins=[],
        actor="bench",
        extra_plugins=extra,
    )
    app.init()
    import_customers(app, first)
    wall, cpu = time.perf_counter(), time.process_time()
    summary = import_customers(app, second)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    app.dispose()
    return wall, cpu, summary.merged


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        first, second = sheets(tmp, args.customers)
        times: dict[str, list[tuple[float, float]]] = {"update_customer": [], "batched": []}
        merged = set()
        for _ in range(args.repeat):
            for way in times:
                wall, cpu, count = run_once(
                    tmp, first, second, through_orm=way == "update_customer"
                )
                times[way].append((wall, cpu))
                merged.add(count)
    print(
        f"{args.customers:,} rows, each merged into a stored customer ({', '.join(map(str, sorted(merged)))} "
        "merges with a change)"
    )
    best = {way: min(runs) for way, runs in times.items()}
    for way, runs in times.items():
        wall, cpu = best[way]
        print(
            f"  {way:16s}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, {args.customers / wall:8,.0f} rows/s "
            f"(runs: {'/'.join(f'{w:.2f}' for w, _c in runs)})"
        )
    print(
        f"  ratio update_customer/batched: {best['update_customer'][0] / best['batched'][0]:.2f}x wall"
    )


if __name__ == "__main__":
    main()
