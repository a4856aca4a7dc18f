"""Web benchmarks: the dashboard, the customer (360°) page with every plugin's panel, the customer
list with filters, and the search API, on 100,000 customers with their purchases.

Run: .venv/bin/python benchmarks/web.py [--customers 100000] [--requests 300] [--db-url postgresql+psycopg://…]

What it does, all in this run:
1. builds the `crm demo` business (every installed plugin seeds its data for the first 60 customers, so their
   pages carry real panels: points, tier, deals, tickets, surveys, calls…) and grows it to N customers with the
   kernel's bulk insert;
2. starts `crm web` (uvicorn, one worker) in its own process;
3. a local load generator (httpx, keep-alive) requests, one after the other, the HTML customer page of the demo
   customers, the JSON customer (360°) and the search API with Persian names (typed with Arabic letters too),
   name prefixes and phones in several formats; then the same with 4 concurrent clients for throughput.

Printed: median and 95th percentile latency per endpoint; and, as baselines measured in the same run, the
same work done in-process without HTTP (so the HTTP + auth overhead shows), and `GET /health`
(a bare FastAPI endpoint: the floor of one HTTP round trip through uvicorn and the framework),
with each page's ratio to it. Targets: dashboard and customer page < 30 ms median, the customer
list < 30 ms for filters with an index (tag, city, consent, sort by name), search < 30 ms. The
machine may be shared: CPU time of the server is printed beside wall time.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
]
CITIES = ["تهران", "اصفهان", "شیراز", "مشهد", "تبریز", "کرج", "رشت", "یزد"]
TOKEN_NAME = "benchmark"
#: the customer list's filters measured; INDEXED: those an index serves (the target applies to them)
LIST_QUERIES = {
    "newest first": {},
    "tag": {"tag": "bench"},
    "city + sort by name": {"city": "اصفهان", "sort": "name"},
    "consent": {"consent": "sms"},
    "tag + page 40": {"tag": "bench", "page": "40"},
    "spent range (aggregate, no index)": {"spent_min": "20,000,000", "spent_max": "60,000,000"},
    "last purchase (aggregate, no index)": {"last_from": "1404-01-01"},
}
INDEXED = ("newest first", "tag", "city + sort by name", "consent", "tag + page 40")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str, path: Path | None, n: int) -> tuple[str, list[int], list[str]]:
    """The demo business grown to ``n`` customers; returns an API token, demo customer ids, search queries."""
    from crmcore.app import CRM
    from crmcore.demo import build_demo
    from crmcore.importing.bulk import add_customers
    from crmcore.services.customers import prepare_customer
    from crmcore.web.users import add_user, create_token

    t0 = time.perf_counter()
    if path is not None:
        demo = build_demo(path)
        plugins = demo["plugins"]
    else:
        app = CRM(url)
        app.init()
        plugins = list(app.plugins.enabled)
        app.dispose()
    print(
        f"demo business built in {time.perf_counter() - t0:.1f} s; plugins: {', '.join(plugins) or 'none'}"
    )
    kernel = CRM(url, plugins=[], actor="benchmark")
    rng = random.Random(1403)
    t0 = time.perf_counter()
    with kernel.unit_of_work() as uow:
        from sqlalchemy import func, select

        from crmcore.storage.models import Customer

        have = uow.session.scalar(select(func.count(Customer.id)))
        demo_ids = list(uow.session.scalars(select(Customer.id).order_by(Customer.id).limit(60)))
    batch: list = []
    for i in range(have, n):
        batch.append(
            prepare_customer(
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                phones=[f"0912{2000000 + i:07d}"],
                city=rng.choice(CITIES),
                tags=["bench"] if i % 10 == 0 else [],
            )
        )
        if len(batch) == 5000 or i == n - 1:
            with kernel.unit_of_work() as uow:
                add_customers(uow, batch)
            batch = []
    print(f"grown to {n:,} customers in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    purchases = add_purchases(kernel, have, rng)
    print(f"{purchases:,} purchases over two years added in {time.perf_counter() - t0:.1f} s")
    with kernel.unit_of_work() as uow:
        add_user(uow, "bench", "benchmark password", "admin")
        token = create_token(uow, "bench", TOKEN_NAME)[1]
    kernel.dispose()
    queries = [
        "مريم كريمي",
        "علیرضا",
        "کاظمی",
        "Sara Ahmadi",
        "۰۹۱۲۲۰۰۵۰۰۰",
        "+98 912 200 7777",
        "شیر",
        "محمد حس",
        "09122012345",
        "نرگس",
    ]
    return token, demo_ids, queries


def add_purchases(kernel, first: int, rng: random.Random) -> int:
    """0–3 purchases per grown customer over the last two years (the dashboard's reports read
    them)."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from crmcore.domain.dates import utcnow
    from crmcore.storage.models import Customer, Interaction

    now = utcnow()
    count = 0
    with kernel.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(Customer.id).order_by(Customer.id).offset(first)))
    rows: list[dict] = []
    for cid in ids:
        for _ in range(rng.randrange(0, 4)):
            rows.append(
                {
                    "customer_id": cid,
                    "kind": "purchase",
                    "channel": "store",
                    "amount_minor": rng.randrange(10, 500) * 100_000,
                    "currency": "IRR",
                    "payload": {},
                    "occurred_at": now
                    - timedelta(days=rng.randrange(0, 730), minutes=rng.randrange(0, 600)),
                    "recorded_at": now,
                }
            )
        if len(rows) >= 20_000 or cid == ids[-1]:
            with kernel.unit_of_work() as uow:
                uow.session.execute(insert(Interaction), rows)
            count += len(rows)
            rows = []
    return count


def timed(fn, rounds: int) -> list[float]:
    out = []
    for i in range(rounds):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(
    name: str, ms: list[float], target: float | None = None, baseline: float | None = None
) -> str:
    med = statistics.median(ms)
    p95 = sorted(ms)[int(len(ms) * 0.95) - 1]
    parts = [f"{name:<44} median {med:7.2f} ms   p95 {p95:7.2f} ms   n={len(ms)}"]
    if target is not None:
        parts.append(f"target < {target:.0f} ms: {'met' if med < target else 'MISSED'}")
    if baseline:
        parts.append(f"×{med / baseline:.1f} of baseline")
    return "   ".join(parts)


def in_process(
    url: str, demo_ids: list[int], queries: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    """The same work without HTTP: profile, panels, header facts, timeline, actions, template; the
    search service."""
    from starlette.requests import Request

    from crmcore import ui
    from crmcore.app import CRM
    from crmcore.services import customer_view
    from crmcore.services.customers import customer_to_dict, get_customer
    from crmcore.services.search import find_customers, match_to_dict
    from crmcore.web.panels import gather_panels
    from crmcore.web.render import make_environment, table_columns

    app = CRM(url)
    env = make_environment()
    template = env.get_template("customer.html")
    request = Request({"type": "http", "path": "/", "query_string": b"", "headers": []})

    def page(i: int) -> None:
        with app.unit_of_work(readonly=True) as uow:
            c = get_customer(uow.session, demo_ids[i % len(demo_ids)])
            data = customer_to_dict(c, with_sections=False)
            panels = gather_panels(uow, c, lambda p: True)
            facts = [x for f in customer_view.summary(uow, c) for x in f.items]
            timeline = customer_view.timeline(uow, c)
            customer_view.actions(uow, c)
        template.render(
            lang="fa",
            dir="rtl",
            tz=app.timezone,
            user=None,
            menu=[],
            csrf="x",
            path="/",
            here="/",
            title="",
            notice=None,
            columns=table_columns,
            c=data,
            panels=panels,
            head_stats=[x for x in facts if not isinstance(x, ui.Badge)],
            head_badges=[x for x in facts if isinstance(x, ui.Badge)],
            timeline=[e for _, e in timeline.entries],
            sources=[],
            only=None,
            before=None,
            older=timeline.before,
            failed=[],
            actions=[],
            currencies=["IRR"],
            sale={},
            money_unit="ریال",
            panel_templates={},
            error=None,
            can_write=True,
            request=request,
        )

    def search(i: int) -> None:
        with app.unit_of_work(readonly=True) as uow:
            [match_to_dict(m) for m in find_customers(uow, queries[i % len(queries)], limit=20)]

    page(0), search(0)
    result = timed(page, rounds), timed(search, rounds)
    app.dispose()
    return result


def server_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--db-url", help="PostgreSQL database to use (emptied first by you); default a SQLite file"
    )
    args = parser.parse_args()

    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        path = None if args.db_url else Path(tmp) / "web-bench.db"
        url = args.db_url or f"sqlite:///{path}"
        token, demo_ids, queries = build(url, path, args.customers)
        port = free_port()
        env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_WEB_SECRET": "benchmark"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "crmcore.web.server:application",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=tmp,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                for _ in range(200):
                    try:
                        if client.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                for cid in demo_ids[
                    :5
                ]:  # warm up: templates compiled, plugins loaded, caches filled
                    assert client.get(f"/customers/{cid}").status_code == 200
                    assert client.get("/").status_code == 200
                    for query in LIST_QUERIES.values():
                        assert client.get("/customers", params=query).status_code == 200
                    client.get("/api/customers", params={"q": queries[cid % len(queries)]})
                cpu0 = server_cpu(server.pid)
                t0 = time.perf_counter()
                n = args.requests
                health = timed(lambda i: client.get("/health"), n)
                page = timed(
                    lambda i: client.get(
                        f"/customers/{demo_ids[i % len(demo_ids)]}"
                    ).raise_for_status(),
                    n,
                )
                api_customer = timed(
                    lambda i: client.get(
                        f"/api/customers/{demo_ids[i % len(demo_ids)]}"
                    ).raise_for_status(),
                    n,
                )
                search = timed(
                    lambda i: client.get(
                        "/api/customers", params={"q": queries[i % len(queries)]}
                    ).raise_for_status(),
                    n,
                )
                dashboard = timed(lambda i: client.get("/").raise_for_status(), max(n // 3, 20))
                lists = {
                    name: timed(
                        lambda i, q=query: client.get("/customers", params=q).raise_for_status(),
                        max(n // 3, 20),
                    )
                    for name, query in LIST_QUERIES.items()
                }
                wall = time.perf_counter() - t0
                cpu = server_cpu(server.pid) - cpu0
                sample = client.get(f"/api/customers/{demo_ids[0]}").json()

            done = [0]
            lock = threading.Lock()

            def worker(k: int) -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                    for i in range(n // 4):
                        c.get(f"/customers/{demo_ids[(i + k) % len(demo_ids)]}").raise_for_status()
                        c.get(
                            "/api/customers", params={"q": queries[(i + k) % len(queries)]}
                        ).raise_for_status()
                        with lock:
                            done[0] += 2

            t1 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            concurrent_s = time.perf_counter() - t1
        finally:
            server.terminate()
            server.wait(timeout=10)
        raw_page, raw_search = in_process(url, demo_ids, queries, n)

    print(
        f"\ncustomers: {args.customers:,}; panels on the measured pages: {', '.join(sample['sections']) or 'none'}"
    )
    print(
        f"backend: {'PostgreSQL' if args.db_url else 'SQLite'}; sequential requests per endpoint: {n}"
    )
    floor = statistics.median(health)
    print(summary("GET /health (bare FastAPI endpoint, floor)", health))
    print(summary("GET / (dashboard, every widget)", dashboard, 30, floor))
    print(summary("GET /customers/{id} (HTML, every panel)", page, 30, floor))
    for name, ms in lists.items():
        print(summary(f"GET /customers ({name})", ms, 30 if name in INDEXED else None, floor))
    print(
        f"(×N: median over the bare endpoint's median; the in-process customer page is "
        f"{statistics.median(raw_page):.2f} ms)"
    )
    print(summary("GET /api/customers/{id} (JSON 360°)", api_customer, 50))
    print(summary("GET /api/customers?q= (search)", search, 30, statistics.median(raw_search)))
    print(summary("in-process customer page (baseline)", raw_page))
    print(summary("in-process search (baseline)", raw_search))
    print(
        f"server CPU {cpu:.1f} s over {wall:.1f} s wall for the sequential run "
        f"({cpu / wall * 100:.0f} % of one core; the rest is the client and the machine's other work)"
    )
    print(
        f"4 concurrent clients: {done[0]} requests (pages + searches) in {concurrent_s:.1f} s = "
        f"{done[0] / concurrent_s:.0f} requests/s"
    )


if __name__ == "__main__":
    main()
