"""Kernel benchmarks: hook dispatch overhead, CLI start-up, and `customers find` on 100,000 customers.

Run: .venv/bin/python benchmarks/kernel.py [--customers 100000]
Each figure is printed next to a raw baseline measured in the same run, with the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pluggy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def bench_hooks(n_plugins: int = 10, calls: int = 20000) -> None:
    from crmcore.hooks import PROJECT, hookimpl, hookspec
    from crmcore.plugin_host import PluginHost

    class Impl:
        @hookimpl
        def crm_interaction_recorded(self, uow, interaction, customer):
            return None

    host = PluginHost(
        [], manifests={}, extra_plugins=[(f"p{i}", Impl(), None) for i in range(n_plugins)]
    )
    host.pm  # build

    class Spec:
        @hookspec
        def crm_interaction_recorded(self, uow, interaction, customer):
            """bare"""

    bare = pluggy.PluginManager(PROJECT)
    bare.add_hookspecs(Spec)
    for i in range(n_plugins):
        bare.register(Impl(), name=f"p{i}")

    def timeit(fn) -> float:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(calls):
                fn()
            best = min(best, (time.perf_counter() - t) / calls)
        return best * 1e6

    raw = timeit(
        lambda: bare.hook.crm_interaction_recorded(uow=None, interaction=None, customer=None)
    )
    ours = timeit(
        lambda: host.call("crm_interaction_recorded", uow=None, interaction=None, customer=None)
    )
    print(
        f"hook dispatch, {n_plugins} plugins: crmcore {ours:.2f} µs/event, bare pluggy {raw:.2f} µs/event, "
        f"ratio {ours / raw:.2f}"
    )


def bench_startup(db: str, runs: int = 7) -> None:
    def median_wall(cmd: list[str]) -> float:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    baseline = median_wall([sys.executable, "-c", "pass"])
    crm = str(BIN / "crm")
    helptime = median_wall([crm, "--help"])
    findtime = median_wall([crm, "--db", db, "customers", "find", "علی کریمی", "--json"])
    print(
        f"start-up: python -c pass {baseline * 1000:.0f} ms; crm --help {helptime * 1000:.0f} ms "
        f"(ratio {helptime / baseline:.1f}); crm customers find {findtime * 1000:.0f} ms "
        f"(ratio {findtime / baseline:.1f}); target < 300 ms each"
    )


FIRST = [
    "علی",
    "محمد",
    "رضا",
    "حسین",
    "مهدی",
    "زهرا",
    "فاطمه",
    "مریم",
    "سارا",
    "نرگس",
    "امیر",
    "علیرضا",
    "کیان",
    "نازنین",
    "پریسا",
    "حمید",
    "یاسمن",
    "مهسا",
    "آرش",
    "شیرین",
    "Sara",
    "John",
    "Reza",
    "Ali",
]
LAST = [
    "محمدی",
    "حسینی",
    "کریمی",
    "رضایی",
    "احمدی",
    "موسوی",
    "جعفری",
    "کاظمی",
    "رحیمی",
    "قاسمی",
    "صادقی",
    "نوروزی",
    "یزدانی",
    "شریفی",
    "طاهری",
    "Ahmadi",
    "Smith",
    "Karimi",
]


def populate(url: str, n: int) -> None:
    """Bulk-load n customers with tokens and phones (Core inserts; the import issue owns the real bulk path)."""
    from sqlalchemy import insert

    from crmcore.app import CRM
    from crmcore.domain.dates import utcnow
    from crmcore.domain.text import normalize, search_tokens
    from crmcore.storage.models import Customer, CustomerEmail, CustomerPhone, CustomerSearchToken

    app = CRM(url, plugins=[])
    app.init()
    rng = random.Random(7)
    now = utcnow()
    with app.engine.begin() as conn:
        for start in range(0, n, 10000):
            rows, phones, emails, toks = [], [], [], []
            for i in range(start + 1, min(n, start + 10000) + 1):
                name = f"{rng.choice(FIRST)} {rng.choice(FIRST) if rng.random() < 0.2 else ''} {rng.choice(LAST)}"
                name = " ".join(name.split())
                rows.append(
                    {
                        "id": i,
                        "kind": "person",
                        "display_name": name,
                        "search_key": normalize(name),
                        "consent_sms": False,
                        "consent_email": False,
                        "attributes": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                phones.append(
                    {"customer_id": i, "e164": f"+98912{i:07d}", "kind": "mobile", "position": 0}
                )
                emails.append({"customer_id": i, "email": f"c{i}@example.ir", "position": 0})
                toks.extend({"customer_id": i, "token": t} for t in search_tokens(name))
            conn.execute(insert(Customer), rows)
            conn.execute(insert(CustomerPhone), phones)
            conn.execute(insert(CustomerEmail), emails)
            conn.execute(insert(CustomerSearchToken), toks)
    app.dispose()


def bench_find(url: str, path: str, n: int, repeats: int = 200) -> None:
    import sqlite3

    from crmcore.app import CRM
    from crmcore.services.search import find_customers

    app = CRM(url, plugins=[])
    rng = random.Random(3)
    queries = []
    for _ in range(repeats):
        kind = rng.randrange(4)
        if kind == 0:
            queries.append(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
        elif kind == 1:
            queries.append(rng.choice(LAST)[:3])
        elif kind == 2:
            queries.append(f"0912{rng.randrange(1, n):07d}")
        else:
            queries.append(f"c{rng.randrange(1, n)}@example.ir")
    times = []
    with app.unit_of_work(readonly=True) as uow:
        for q in queries:
            t = time.perf_counter()
            find_customers(uow, q, limit=20)
            times.append(time.perf_counter() - t)
    app.dispose()
    con = sqlite3.connect(path)
    raw = []
    for q in queries:
        t = time.perf_counter()
        con.execute(
            "SELECT id, display_name FROM customers WHERE search_key >= ? AND search_key < ? LIMIT 20",
            (q, q + "\U0010ffff"),
        ).fetchall()
        raw.append(time.perf_counter() - t)
    con.close()
    med, p90 = statistics.median(times) * 1000, sorted(times)[int(len(times) * 0.9)] * 1000
    raw_med = statistics.median(raw) * 1000
    print(
        f"customers find on {n:,} customers (SQLite): median {med:.2f} ms, p90 {p90:.2f} ms; raw indexed "
        f"prefix SELECT median {raw_med:.3f} ms; ratio {med / raw_med:.1f}; target median < 20 ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("CRMCORE_PLUGINS_ONLY", os.environ.get("CRMCORE_PLUGINS_ONLY", ""))
    bench_hooks()
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/bench.db"
        url = f"sqlite:///{path}"
        t = time.perf_counter()
        populate(url, args.customers)
        print(f"(populated {args.customers:,} customers in {time.perf_counter() - t:.1f} s)")
        bench_find(url, path, args.customers)
        bench_startup(url)


if __name__ == "__main__":
    main()
