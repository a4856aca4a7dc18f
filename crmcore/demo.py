"""The demo: a fresh SQLite database of a Persian sample business (a shop with a customer club), every
installed plugin exercised through ``crm_demo_seed``, and a readable summary."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

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
]
CITIES = ["تهران", "اصفهان", "شیراز", "مشهد", "تبریز", "کرج", "رشت"]
TAGS = ["vip", "عمده", "آنلاین", "حضوری"]
SKUS = [
    ("TEA-01", "چای", 450_000),
    ("SAF-05", "زعفران", 2_800_000),
    ("DAT-10", "خرما", 620_000),
    ("PIS-02", "پسته", 3_900_000),
    ("RIC-20", "برنج", 1_750_000),
]


def _phone_variants(rng: random.Random, n: int) -> str:
    digits = f"0912{n:07d}"
    style = rng.randrange(4)
    if style == 0:
        return digits
    if style == 1:
        return "+98" + digits[1:]
    if style == 2:
        return digits.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return "0098 " + digits[1:4] + " " + digits[4:7] + " " + digits[7:]


def build_demo(path: str | Path, *, seed: int = 1403, customers: int = 60) -> dict[str, Any]:
    """Create ``path`` afresh, migrate it with every installed plugin, seed it, and return a summary."""
    from .app import CRM
    from .reports import ReportParams, run_report
    from .services.customers import add_customer
    from .services.interactions import record_interaction
    from .services.search import find_customers

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    app = CRM(f"sqlite:///{path}", actor="demo")
    app.init()
    rng = random.Random(seed)
    lines: list[str] = []
    with app.unit_of_work(actor="demo") as uow:
        now = uow.now()
        people = []
        for n in range(customers):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if n % 7 == 3:  # Arabic-keyboard spellings and ZWNJ, as real data has them
                name = name.replace("ی", "ي").replace("ک", "ك")
            if n % 11 == 5:
                name = "شرکت بازرگانی " + rng.choice(LAST)
            c = add_customer(
                uow,
                name=name,
                kind="organisation" if name.startswith("شرکت") else "person",
                phones=[_phone_variants(rng, 1000000 + n * 37)],
                emails=[f"customer{n}@example.ir"] if n % 3 == 0 else [],
                tags=rng.sample(TAGS, k=rng.randrange(0, 3)),
                external_id=f"C{n:04d}",
                birthday=f"13{rng.randrange(50, 85)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                city=rng.choice(CITIES),
                consent_sms=n % 5 != 0,
                consent_email=n % 3 == 0,
            )
            people.append(c)
        purchases = 0
        for c in people:
            for _ in range(rng.randrange(1, 9)):
                sku, title, price = rng.choice(SKUS)
                qty = rng.randrange(1, 4)
                at = now - timedelta(days=rng.randrange(1, 365), hours=rng.randrange(0, 10))
                record_interaction(
                    uow,
                    c,
                    kind="purchase",
                    channel=rng.choice(["store", "web"]),
                    amount=str(price * qty),
                    currency="IRR",
                    occurred_at=at,
                    payload={
                        "lines": [
                            {
                                "sku": sku,
                                "title": title,
                                "quantity": qty,
                                "amount": str(price * qty),
                            }
                        ]
                    },
                )
                purchases += 1
            if rng.random() < 0.3:
                record_interaction(
                    uow,
                    c,
                    kind="call",
                    channel="phone",
                    direction="in",
                    occurred_at=now - timedelta(days=rng.randrange(1, 60)),
                    payload={"note": "پیگیری سفارش"},
                )
        lines.append(f"kernel: {len(people)} customers, {purchases} purchases")
        persian = next(
            (c.display_name for c in people if ("ی" in c.display_name or "ک" in c.display_name)),
            people[0].display_name,
        )
        probe = persian.replace("ی", "ي").replace(
            "ک", "ك"
        )  # typed on an Arabic keyboard: found all the same
        for result in uow.call("crm_demo_seed", customers=people, rng=rng):
            lines.extend(result or ())
    with app.unit_of_work(readonly=True) as uow:
        summary = run_report(uow, "customers.summary", ReportParams(timezone=app.timezone))
        sales = run_report(
            uow,
            "sales.by_period",
            ReportParams(period="jalali_month", calendar="jalali", timezone=app.timezone),
        )
        found = [
            (m.customer.id, m.customer.display_name) for m in find_customers(uow, probe, limit=3)
        ]
        plugins = list(app.plugins.enabled)
    app.dispose()
    return {
        "database": str(path),
        "plugins": plugins,
        "lines": lines,
        "summary": summary,
        "sales": sales,
        "search": {"query": probe, "results": found},
    }
