"""What the referrals plugin adds to a customer import where 30 % of the rows carry a referral code.

Run: .venv/bin/python plugins/referrals/benchmarks/import_with_codes.py [--customers 100000] [--repeat 2]

Each run starts from a fresh SQLite database holding 1,000 members (whose codes the file uses), then
imports the same generated customers (benchmarks/import.py's generator): with the kernel alone (the code
column left out, since no plugin declares it), and with the referrals plugin (the code column in, a
referral attached per coded row). Runs alternate; the best of --repeat is printed with the ratio.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def kernel_generator():
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "benchmarks" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def members(app, n: int = 1000) -> list[str]:
    from crmcore_referrals import service

    from crmcore.api import add_customer

    with app.unit_of_work() as uow:
        ids = [add_customer(uow, name=f"عضو {i}", external_id=f"M{i}").id for i in range(n)]
        return [service.code_of(uow, i) for i in ids]


def with_codes(source: Path, target: Path, codes: list[str], share: float, keep: bool) -> int:
    rng, coded = random.Random(7), 0
    with (
        open(source, encoding="utf-8") as fi,
        open(target, "w", encoding="utf-8", newline="") as fo,
    ):
        reader, writer = csv.reader(fi), csv.writer(fo)
        header = next(reader)
        writer.writerow(header + (["attr.referral_code"] if keep else []))
        for row in reader:
            code = rng.choice(codes) if rng.random() < share else ""
            coded += bool(code)
            writer.writerow(row + ([code] if keep else []))
    return coded


def run(tmp: Path, source: Path, plugins: list[str], n: int) -> tuple[float, int]:
    from sqlalchemy import func, select

    from crmcore.api import CRM
    from crmcore.testing import import_customers

    app = CRM(f"sqlite:///{tmp / f'r-{time.time_ns()}.db'}", plugins=["referrals"], actor="bench")
    app.init()
    codes = members(app)
    app.dispose()
    app = CRM(app.url, plugins=plugins, actor="bench")
    path = tmp / f"coded-{len(plugins)}.csv"
    with_codes(source, path, codes, 0.3, keep=bool(plugins))
    start = time.perf_counter()
    summary = import_customers(app, str(path))
    wall = time.perf_counter() - start
    attached = 0
    if plugins:
        from crmcore_referrals.models import Referral

        with app.unit_of_work(readonly=True) as uow:
            attached = uow.session.scalar(select(func.count()).select_from(Referral))
    assert summary.rejected == 0, summary
    app.dispose()
    return wall, attached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "customers.csv"
        kernel_generator()(source, args.customers)
        kernel, plugin, attached = [], [], 0
        for _ in range(args.repeat):
            kernel.append(run(tmp, source, [], args.customers)[0])
            wall, attached = run(tmp, source, ["referrals"], args.customers)
            plugin.append(wall)
        k, p = min(kernel), min(plugin)
        print(
            f"customers import, {args.customers:,} rows, 30 % with a referral code "
            f"({attached:,} referrals attached):"
        )
        print(
            f"  kernel alone     : {args.customers / k:9,.0f} rows/s ({k:6.1f} s)  all: "
            + ", ".join(f"{w:.1f}" for w in kernel)
        )
        print(
            f"  with referrals   : {args.customers / p:9,.0f} rows/s ({p:6.1f} s)  all: "
            + ", ".join(f"{w:.1f}" for w in plugin)
        )
        print(f"  ratio            : {p / k:.2f}x (target: at most 1.20x)")


if __name__ == "__main__":
    main()
