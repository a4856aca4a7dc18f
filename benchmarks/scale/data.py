"""Data at scale on PostgreSQL: generate N customers and M interactions, import them through crmcore next to a
raw COPY of the same files, measure search latency next to the bare index lookups, and replay a CDNOW-style
purchase history with every installed plugin next to the kernel alone.

Run by hand (not in CI), against a PostgreSQL database (scratch schemas are created in it and dropped):
  .venv/bin/python benchmarks/scale/data.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      [--customers 1000000] [--interactions 10000000] [--queries 300] [--replay-rows 69659] [--keep]
The defaults are the full scale (about an hour on 2 cores); pass smaller numbers for a quick look.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
CDNOW = Path(
    os.environ.get("CDNOW", ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt")
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
    "Ali",
    "Sara",
    "Reza",
    "Maryam",
    "Omid",
    "Neda",
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
    "Karimi",
    "Ahmadi",
    "Tehrani",
    "Shirazi",
    "Rahimi",
]
CITIES = ["تهران", "اصفهان", "شیراز", "مشهد", "تبریز", "کرج", "رشت", "یزد"]


def generate(
    directory: Path, customers: int, interactions: int, seed: int = 1403
) -> tuple[Path, Path, float]:
    rng = random.Random(seed)
    started = time.perf_counter()
    cpath, ipath = directory / "customers.csv", directory / "interactions.csv"
    with open(cpath, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["نام", "نام خانوادگی", "موبایل", "ایمیل", "شهر", "کد مشتری"])
        for i in range(customers):
            w.writerow(
                [
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"0912{i:07d}",
                    f"user{i}@mail.ir",
                    rng.choice(CITIES),
                    f"C{i:08d}",
                ]
            )
    with open(ipath, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["کد مشتری", "تاریخ", "مبلغ", "شماره فاکتور"])
        for n in range(interactions):  # in time order, as a till exports them
            day = 1 + n * 365 // max(interactions, 1)
            w.writerow(
                [
                    f"C{rng.randrange(customers):08d}",
                    f"2024-{1 + (day - 1) // 31 % 12:02d}-"
                    f"{1 + (day - 1) % 28:02d} {rng.randrange(9, 21):02d}:{rng.randrange(60):02d}",
                    rng.randrange(10, 5000) * 10_000,
                    f"F{n:09d}",
                ]
            )
    return cpath, ipath, time.perf_counter() - started


def raw_copy(app, path: Path, table: str, columns: int) -> float:
    """Seconds for COPY of the CSV into a plain table of text columns (the database's own ceiling)."""
    cols = ", ".join(f"c{i} text" for i in range(columns))
    raw = app.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} ({cols})")
        started = time.perf_counter()
        with (
            open(path, "rb") as f,
            cur.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        raw.commit()
        seconds = time.perf_counter() - started
        cur.execute(f"DROP TABLE {table}")
        raw.commit()
        return seconds
    finally:
        raw.close()


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"p50 {statistics.median(ms):.2f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.2f} ms"


def search_latency(app, customers: int, queries: int) -> None:
    from crmcore.services.search import find_customers

    rng = random.Random(7)
    picks = [rng.randrange(customers) for _ in range(queries)]
    kinds = {
        "phone (full)": (
            [f"0912{i:07d}" for i in picks],
            "SELECT customer_id FROM customer_phones WHERE e164 = :q",
            lambda q: "+98" + q[1:],
        ),
        "phone suffix (7 digits)": (
            [f"{i:07d}" for i in picks],
            "SELECT customer_id FROM customer_phones WHERE e164 LIKE :q LIMIT 20",
            lambda q: "%" + q,
        ),
        "name prefix (2 words)": (
            [f"{rng.choice(FIRST)} {rng.choice(LAST)[:3]}" for _ in picks],
            "SELECT customer_id FROM customer_search_tokens WHERE token >= :q AND token < :r "
            "LIMIT 20",
            None,
        ),
    }
    from crmcore.domain.text import normalize

    with app.engine.connect() as conn:
        for label, (qs, sql, shape) in kinds.items():
            ours, bare = [], []
            for q in qs:
                t = time.perf_counter()
                with app.unit_of_work(readonly=True) as uow:
                    find_customers(uow, q)
                ours.append(time.perf_counter() - t)
                t = time.perf_counter()
                if shape is None:
                    key = normalize(q).replace(" ", "")
                    conn.execute(text(sql), {"q": key, "r": key + "\uffff"}).all()
                else:
                    conn.execute(text(sql), {"q": shape(q)}).all()
                bare.append(time.perf_counter() - t)
            print(
                f"  search {label}: crm {percentiles(ours)} | bare index lookup {percentiles(bare)} | "
                f"ratio {statistics.median(ours) / statistics.median(bare):.1f}x",
                flush=True,
            )
        # how many names contain this piece (a rare piece, or a typo, must look at every row without the index)
        subs = [rng.choice(LAST)[1:4] + rng.choice(["", "ز", "q"]) for _ in range(min(queries, 50))]
        sql = text("SELECT count(*) FROM customers WHERE search_key LIKE :q")
        with_index, without = [], []
        for q in subs:
            t = time.perf_counter()
            conn.execute(sql, {"q": f"%{q}%"}).all()
            with_index.append(time.perf_counter() - t)
        conn.execute(text("SET enable_bitmapscan = off"))
        for q in subs:
            t = time.perf_counter()
            conn.execute(sql, {"q": f"%{q}%"}).all()
            without.append(time.perf_counter() - t)
        conn.execute(text("RESET enable_bitmapscan"))
        has = conn.execute(
            text(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_customers_search_key_trgm' "
                "AND schemaname = current_schema()"
            )
        ).scalar()
        print(
            f"  names containing a piece (count of LIKE '%…%', {'with' if has else 'WITHOUT'} the pg_trgm index): "
            f"{percentiles(with_index)} | forced scan {percentiles(without)}",
            flush=True,
        )


def replay(base_url: str, rows: int, tmp: Path) -> None:
    from crmcore.app import CRM
    from crmcore.importing import import_interactions
    from crmcore.plugin_host import installed_manifests
    from crmcore.testing.database import PostgresSchemas

    path = tmp / "cdnow.txt"
    with open(CDNOW, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n > rows:
                break
            dst.write(line)
    plugins = list(installed_manifests())
    results = {}
    for label, enabled in (("kernel alone", []), (f"all {len(plugins)} plugins", plugins)):
        schemas = PostgresSchemas(base_url)
        try:
            app = CRM(schemas.url, plugins=enabled, actor="bench")
            app.init()
            started = time.perf_counter()
            summary = import_interactions(
                app,
                path,
                create_customers=True,
                kind="purchase",
                currency="USD",
                mapping=["dollar_value=amount"],
            )
            results[label] = summary.recorded / (time.perf_counter() - started)
            copy_s = raw_copy(app, path, "bench_raw_cdnow", 1) if label == "kernel alone" else None
            app.dispose()
        finally:
            schemas.close()
        extra = f" | raw COPY of the file {rows / copy_s:,.0f} rows/s" if copy_s else ""
        print(
            f"  CDNOW replay ({rows:,} purchases), {label}: {results[label]:,.0f} purchases/s{extra}",
            flush=True,
        )
    kernel, everything = results.values()
    print(
        f"  plugins' share: all plugins run at {everything / kernel:.2f}x the kernel-alone rate "
        f"({', '.join(plugins) or 'none installed'})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--db-url", required=True, help="PostgreSQL URL (scratch schemas are created and dropped)"
    )
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--interactions", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--replay-rows", type=int, default=69_659)
    ap.add_argument(
        "--keep", action="store_true", help="keep the generated CSV files (printed path)"
    )
    args = ap.parse_args()

    from crmcore.app import CRM
    from crmcore.importing import import_customers, import_interactions
    from crmcore.testing.database import PostgresSchemas

    tmp = Path(tempfile.mkdtemp(prefix="crm-scale-"))
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}"
    )
    cpath, ipath, gen_s = generate(tmp, args.customers, args.interactions)
    print(
        f"generated {args.customers:,} customers and {args.interactions:,} interactions as CSV in {gen_s:.1f} s "
        f"({(args.customers + args.interactions) / gen_s:,.0f} rows/s)",
        flush=True,
    )
    schemas = PostgresSchemas(args.db_url)
    try:
        app = CRM(schemas.url, plugins=[], actor="bench")
        app.init()
        copy_c = raw_copy(app, cpath, "bench_raw_customers", 6)
        t = time.perf_counter()
        s = import_customers(app, cpath)
        ours = time.perf_counter() - t
        print(
            f"  import customers: {s.created:,} created, {args.customers / ours:,.0f} rows/s | raw COPY "
            f"{args.customers / copy_c:,.0f} rows/s | ratio {ours / copy_c:.1f}x slower",
            flush=True,
        )
        copy_i = raw_copy(app, ipath, "bench_raw_interactions", 4)
        t = time.perf_counter()
        s = import_interactions(app, ipath, kind="purchase", currency="IRR")
        ours = time.perf_counter() - t
        print(
            f"  import interactions: {s.recorded:,} recorded, {args.interactions / ours:,.0f} rows/s | raw COPY "
            f"{args.interactions / copy_i:,.0f} rows/s | ratio {ours / copy_i:.1f}x slower",
            flush=True,
        )
        with app.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        search_latency(app, args.customers, args.queries)
        app.dispose()
    finally:
        schemas.close()
    if args.replay_rows:
        replay(args.db_url, args.replay_rows, tmp)
    if args.keep:
        print(f"files kept in {tmp}")
    else:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
