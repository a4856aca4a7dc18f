"""Helpers for tests of loyalty and of plugins built on it: load a program text, read balances and entries."""

from crmcore_loyalty import api
from crmcore_loyalty.programs import load_program

BASE = """
[program]
name = "test"
expiry = "12 months"
negative_balance = "{policy}"
[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"
"""


def load(app, text: str):
    with app.unit_of_work() as uow:
        return load_program(uow, text)[0]


def load_base(app, policy: str = "clawback", extra: str = ""):
    return load(app, BASE.format(policy=policy) + extra)


def balance(app, cid: int) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return api.balance(uow, cid)


def kinds(app, cid: int) -> list[tuple[str, int]]:
    with app.unit_of_work(readonly=True) as uow:
        return [(e.kind, e.points) for e in api.ledger(uow, cid)]


# -- CDNOW replay (tests and benchmarks) --------------------------------------------------------------------
CDNOW_PROGRAM = """
[program]
name = "CDNOW replay"
currency = "USD"
calendar = "gregorian"
expiry = "never"
[caps]
per_purchase = 500
[[rules]]
name = "per-dollar"
kind = "per_amount"
points = 1
per = "1"
[[rules]]
name = "welcome"
kind = "first_purchase"
points = 25
"""


def cdnow_path():
    """``shared/data/cdnow/CDNOW_master.txt`` beside the repository (``None`` when it is not there)."""
    from pathlib import Path

    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
        if candidate.exists():
            return candidate
    return None


def cdnow_rows(path, max_customer: int | None = None) -> list[tuple[str, str, int, str]]:
    """``(customer, yyyymmdd, cds, dollars)`` rows in file order (optionally customers 1..max_customer)."""
    rows = []
    with open(path, encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 4 or not parts[0].isdigit():
                continue
            if max_customer is not None and int(parts[0]) > max_customer:
                continue
            rows.append((parts[0], parts[1], int(parts[2]), parts[3]))
    return rows


def cdnow_expected_points(rows) -> dict[str, int]:
    """The program above computed independently of loyalty: whole dollars per purchase, +25 on each customer's
    first purchase (earliest date, file order on ties), at most 500 per purchase."""
    from decimal import Decimal

    points: dict[str, int] = {}
    first: dict[str, tuple[str, int]] = {}
    for i, (cust, day, _cds, dollars) in enumerate(rows):
        if cust not in first or day < first[cust][0]:
            first[cust] = (day, i)
    for i, (cust, day, _cds, dollars) in enumerate(rows):
        earned = int(Decimal(dollars)) + (25 if first[cust][1] == i else 0)
        points[cust] = points.get(cust, 0) + min(earned, 500)
    return points


def cdnow_replay(app, rows, *, batch: int = 1000) -> dict[str, int]:
    """Create the customers, then record every purchase through the kernel (one unit of work per ``batch``
    purchases), in date order per customer. Returns ``{external_id: customer_id}``; timing is the caller's."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crmcore.api import Customer, add_customer, record_interaction

    ids: dict[str, int] = {}
    customers = sorted({r[0] for r in rows})
    with app.unit_of_work() as uow:
        for ext in customers:
            ids[ext] = add_customer(uow, name=f"CDNOW {ext}", external_id=f"cdnow-{ext}").id
    zone = ZoneInfo("Asia/Tehran")
    ordered = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    for start in range(0, len(ordered), batch):
        with app.unit_of_work() as uow:
            cache: dict[int, Customer] = {}
            for i in ordered[start : start + batch]:
                cust, day, cds, dollars = rows[i]
                cid = ids[cust]
                customer = cache.get(cid) or cache.setdefault(cid, uow.session.get(Customer, cid))
                at = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), 12, 0, tzinfo=zone)
                record_interaction(
                    uow,
                    customer,
                    kind="purchase",
                    amount=dollars,
                    currency="USD",
                    occurred_at=at,
                    external_id=f"cdnow-{i}",
                    payload={"cds": cds},
                )
    return ids


# -- concurrency (parallel workers on one balance) ------------------------------------------------------------
def spend_worker(url: str, customer_id: int, attempts: int, points: int, barrier, results) -> None:
    """A separate process: wait for the others, then try ``attempts`` debits of ``points`` from one balance."""
    import os

    from crmcore.api import CRM, ValidationError

    from . import api

    app = CRM(url, plugins=["loyalty"])
    app.plugins.pm  # load before the race starts
    barrier.wait()
    spent = refused = 0
    try:
        for n in range(attempts):
            try:
                with app.unit_of_work(actor=f"worker-{os.getpid()}") as uow:
                    api.debit(
                        uow, customer_id, points, kind="redeem", reason=f"race {os.getpid()}-{n}"
                    )
                spent += 1
            except ValidationError:
                refused += 1
        results.put(("ok", spent, refused))
    except Exception as exc:  # reported to the test, which fails with it
        results.put(("error", repr(exc), 0))
    finally:
        app.dispose()
