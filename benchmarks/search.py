"""Customer search latency beside the bare indexed lookup, measured in the same run on the same
database.

Run: .venv/bin/python benchmarks/search.py [--customers 100000 1000000] [--db sqlite postgresql]
[--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--queries 300] [--rebuild]

The databases are built once under /tmp/crm-search-bench (SQLite files) and as PostgreSQL databases
``crm_search_<n>``, then reused (``--rebuild`` builds them again): the kernel's migrations create
the schema, the customers go in with driver-level bulk inserts (executemany / COPY) in the shape the
kernel stores them (normalised names, their search tokens and token counts, E.164 phones, emails),
and the database is analysed (PostgreSQL: vacuumed too, as autovacuum would after a load). Names: 70
first names (Persian and English), a second first name for one in five, and 1,200 family names
(stems with the common suffixes) — a chain's customer list, where a family name is shared by about a
thousand people at 1,000,000 customers.

For each kind of query, each query runs through ``search_customers`` (what the web's instant search,
the API and plugins call: the page with phones and emails, one unit of work per query) and through
the bare indexed lookup that any search of that kind must at least do (one index range or equality,
20 ids, on the driver's own cursor), alternated query by query; p50/p95 of each, their ratio, the
CPU time of this process per search (on SQLite the whole search's work; on PostgreSQL the client's
part only: it tells how much of the wall time a loaded machine added), and the process's peak RSS
before and after (memory flat: the search keeps nothing per customer)."""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH = Path("/tmp/crm-search-bench")
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
    "بهرام",
    "لیلا",
    "کاوه",
    "نیما",
    "الهام",
    "محمدرضا",
    "مصطفی",
    "جواد",
    "سعید",
    "حسن",
    "فرزانه",
    "مینا",
    "شهرام",
    "بابک",
    "کامران",
    "پرستو",
    "سمیرا",
    "هادی",
    "یوسف",
    "ابراهیم",
    "اکبر",
    "منصور",
    "نسرین",
    "طاهره",
    "معصومه",
    "رقیه",
    "مهناز",
    "ژاله",
    "پیمان",
    "سینا",
    "Ali",
    "Sara",
    "Reza",
    "Maryam",
    "Omid",
    "Neda",
    "Babak",
    "Shirin",
    "Kourosh",
    "Roya",
    "Arash",
    "Parisa",
    "Mina",
    "Hamid",
    "Leila",
    "Nima",
    "Kaveh",
    "Elham",
    "Dariush",
    "Azadeh",
]
STEMS = [
    "محمد",
    "حسین",
    "کریم",
    "رضا",
    "احمد",
    "موسو",
    "جعفر",
    "کاظم",
    "رحیم",
    "قاسم",
    "صادق",
    "نوروز",
    "یزدان",
    "شریف",
    "طاهر",
    "اکبر",
    "باقر",
    "کیان",
    "مراد",
    "عباس",
    "تهران",
    "شیراز",
    "اصفهان",
    "کرمان",
    "تبریز",
    "قزوین",
    "رشت",
    "ساری",
    "بهار",
    "نیک",
    "فرهاد",
    "جمال",
    "کمال",
    "سلیم",
    "حکیم",
    "امین",
    "نصیر",
    "منصور",
    "ناصر",
    "ظفر",
    "فتح",
    "غلام",
    "علو",
    "فاطم",
    "زمان",
    "سلطان",
    "خسرو",
    "داور",
    "سبحان",
    "رحمان",
    "مهر",
    "ماه",
    "شاه",
    "ملک",
    "میر",
    "آقا",
    "حاج",
    "بیگ",
    "خان",
    "دهقان",
]
SUFFIXES = [
    "ی",
    "یان",
    " زاده",
    "پور",
    " نژاد",
    "ی فر",
    "یه",
    "لو",
    "وند",
    "ی نیا",
    "ی مقدم",
    " راد",
    "ی پناه",
    "کیا",
    "ی منش",
    "ی زاده",
    "نیا",
    "ی فرد",
    "ی اصل",
    "ی راد",
]
LAST = [s + x for s in STEMS for x in SUFFIXES] + [
    "Karimi",
    "Ahmadi",
    "Tehrani",
    "Shirazi",
    "Rahimi",
    "Yazdani",
    "Mousavi",
    "Hosseini",
    "Smith",
    "Jones",
]


def phone(i: int) -> str:
    return f"+98912{i:07d}"


def name_of(rng: random.Random) -> str:
    first = rng.choice(FIRST)
    if rng.random() < 0.2:
        first += " " + rng.choice(FIRST)
    return f"{first} {rng.choice(LAST)}"


# --- building --------------------------------------------------------------------------------------------------
def url_for(db: str, n: int, pg_url: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{BENCH / f'search-{n}.db'}"
    return pg_url.rsplit("/", 1)[0] + f"/crm_search_{n}"


def ready(url: str, n: int) -> bool:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite") and not Path(url.split(":///", 1)[1]).exists():
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT count(*) FROM customer_search_token_counts")).scalar() > 0
                and conn.execute(text("SELECT max(id) FROM customers")).scalar() == n
            )
    except Exception:
        return False
    finally:
        engine.dispose()


def build(db: str, url: str, n: int) -> None:
    from sqlalchemy import create_engine

    from crmcore.app import CRM
    from crmcore.domain.text import normalize, search_tokens
    from crmcore.storage.tokens import recount_tokens

    started = time.perf_counter()
    if db == "sqlite":
        BENCH.mkdir(parents=True, exist_ok=True)
        Path(url.split(":///", 1)[1]).unlink(missing_ok=True)
    else:
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS crm_search_{n}")
            conn.exec_driver_sql(f"CREATE DATABASE crm_search_{n}")
        admin.dispose()
    app = CRM(url, plugins=[])
    app.init()
    rng = random.Random(1403)
    now = "2026-12-01 10:00:00.000000"
    with app.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()
        step = 50_000
        for start in range(1, n + 1, step):
            customers, phones, emails, tokens = [], [], [], []
            for i in range(start, min(n, start + step - 1) + 1):
                name = name_of(rng)
                customers.append(
                    (
                        i,
                        "person",
                        name,
                        normalize(name)[:300],
                        f"C{i:07d}" if i % 3 == 0 else None,
                        False,
                        False,
                        "{}",
                        now,
                        now,
                    )
                )
                phones.append((i, i, phone(i), "mobile", 0))
                emails.append((i, i, f"user{i}@mail.ir", 0))
                tokens.extend((i, t) for t in search_tokens(name))
            tokens.sort(key=lambda r: r[1])
            _insert(
                db,
                cur,
                "customers",
                "id, kind, display_name, search_key, external_id, consent_sms, "
                "consent_email, attributes, created_at, updated_at",
                customers,
            )
            _insert(db, cur, "customer_phones", "id, customer_id, e164, kind, position", phones)
            _insert(db, cur, "customer_emails", "id, customer_id, email, position", emails)
            _insert(db, cur, "customer_search_tokens", "customer_id, token", tokens)
        recount_tokens(conn)
        if db == "postgresql":
            cur.execute(
                "SELECT setval(pg_get_serial_sequence(t, 'id'), %s) FROM unnest(array['customers', "
                "'customer_phones', 'customer_emails']) AS t",
                (n,),
            )
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if db == "sqlite" else "VACUUM ANALYZE")
    app.dispose()
    print(f"built {n:,} customers on {db} in {time.perf_counter() - started:.0f} s", flush=True)


def _insert(db: str, cur, table: str, columns: str, rows: list[tuple]) -> None:
    if db == "sqlite":
        marks = ", ".join("?" for _ in columns.split(","))
        cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        return
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# --- measuring -------------------------------------------------------------------------------------------------
def queries(
    n: int, count: int, seed: int = 7
) -> tuple[dict[str, list[tuple[str, str, tuple]]], dict]:
    """Per kind: (query, bare SQL with ? marks, its parameters)."""
    from crmcore.domain.text import normalize
    from crmcore.services.search_plan import PHONE_REVERSED, TOP

    rng = random.Random(seed)
    picks = [rng.randrange(1, n + 1) for _ in range(count)]
    token_range = (
        "SELECT customer_id FROM customer_search_tokens WHERE token >= ? AND token < ? LIMIT 20"
    )
    kinds: dict[str, list] = {
        "two-word Persian name prefix": [],
        "one contained word": [],
        "full phone": [],
        "7-digit phone suffix": [],
        "email prefix": [],
    }
    persian_first = [f for f in FIRST if not f.isascii()]
    for i in picks:
        q = f"{rng.choice(persian_first)} {rng.choice(LAST[:-10])[:3]}"
        word = normalize(q).split(" ")[-1]  # the rarer word: the family name's start
        kinds["two-word Persian name prefix"].append((q, token_range, (word, word + TOP)))
        word = normalize(rng.choice(LAST)).split(" ")[0]
        kinds["one contained word"].append((word, token_range, (word, word + TOP)))
        kinds["full phone"].append(
            (f"0912{i:07d}", "SELECT customer_id FROM customer_phones WHERE e164 = ?", (phone(i),))
        )
        digits = f"{i:07d}"[::-1]
        kinds["7-digit phone suffix"].append(
            (
                f"{i:07d}",
                "SELECT customer_id FROM customer_phones WHERE {r} >= ? AND {r} < ? LIMIT 20",
                (digits, digits + TOP),
            )
        )
        email = f"user{i}@mail"
        kinds["email prefix"].append(
            (
                email,
                "SELECT customer_id FROM customer_emails WHERE email >= ? AND email < ? LIMIT 20",
                (email, email + TOP),
            )
        )
    return kinds, PHONE_REVERSED


def measure(db: str, url: str, n: int, count: int) -> list[tuple]:
    from crmcore.app import CRM
    from crmcore.services.search import search_customers

    kinds, reversed_ = queries(n, count)
    warm, _ = queries(n, 40, seed=8)
    if (
        db == "sqlite"
    ):  # the file in the OS cache, as on a server that has been answering for a while
        with open(url.split(":///", 1)[1], "rb") as f:
            while f.read(1 << 24):
                pass
    app = CRM(url, plugins=[])
    rows = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with app.engine.connect() as bare_conn:
        cur = bare_conn.connection.dbapi_connection.cursor()
        mark = "?" if db == "sqlite" else "%s"
        for label, items in kinds.items():
            ours, bare, cpu = [], [], []
            for q, *_ in warm[
                label
            ]:  # other queries of the kind: the code paths and the index roots warm
                with app.unit_of_work(readonly=True) as uow:
                    search_customers(uow, q)
            for q, sql, params in items:
                sql = sql.replace("{r}", reversed_[db]).replace("?", mark)
                t, c = time.perf_counter(), time.process_time()
                with app.unit_of_work(readonly=True) as uow:
                    found = search_customers(uow, q).results
                ours.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                t = time.perf_counter()
                cur.execute(sql, params)
                cur.fetchall()
                bare.append(time.perf_counter() - t)
                if not found:
                    raise SystemExit(f"{label}: no result for {q!r}")
            rows.append(
                (label, _p(ours, 50), _p(ours, 95), _p(bare, 50), _p(bare, 95), _p(cpu, 50))
            )
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    app.dispose()
    for label, p50, p95, b50, b95, c50 in rows:
        print(
            f"| {label}, {db}, {n:,} | {p50:.2f} ms (p95 {p95:.2f}) | {c50:.2f} ms | {b50:.3f} ms "
            f"(p95 {b95:.3f}) | {p50 / b50:.0f}× |",
            flush=True,
        )
    print(
        f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end", flush=True
    )
    print(
        f"  peak RSS {rss_before / 1024:.0f} MB before the queries, {rss_after / 1024:.0f} MB after "
        f"({len(rows) * (count + 40):,} searches)",
        flush=True,
    )
    return rows


def _p(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * pct // 100)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CRM_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(
        "| query, customers | search_customers p50 (p95) | its CPU p50 | bare indexed SQL p50 (p95) | ratio |"
    )
    print("|---|---|---|---|---|")
    for db in args.db:
        for n in args.customers:
            url = url_for(db, n, args.pg_url)
            if args.rebuild or not ready(url, n):
                build(db, url, n)
            measure(db, url, n, args.queries)


if __name__ == "__main__":
    main()
