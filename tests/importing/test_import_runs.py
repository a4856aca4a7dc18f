"""Imports that share the database: chunks committed and recorded, other commands served between
them, a killed import resumed with exact totals, one import at a time (no duplicates from parallel
imports)."""

import csv
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crmcore.api import CRM
from crmcore.importing import import_customers, import_interactions
from crmcore.storage.models import Customer, CustomerPhone, ImportRun, Interaction, OutboxEvent
from crmcore.testing import make_customer, outbox_events

from .conftest import write_csv

SLOW_IMPORT = Path(__file__).with_name("slow_import.py")
N = 400


def customers_file(path: Path, n: int = N, start: int = 0, *, bad: bool = True) -> Path:
    """``n`` people; every tenth row (i % 10 == 5) is row i - 5 again (its phone in another format,
    a new tag: merged); with ``bad``, rows with i % 50 == 7 have a broken phone (rejected)."""
    rows = [["name", "mobile", "email", "tags", "customer code"]]
    for i in range(start, start + n):
        if bad and i % 50 == 7:
            rows.append([f"Broken {i}", "0912abc", "", "", ""])
        elif i % 10 == 5:
            j = i - 5
            rows.append([f"Person {j}", f"+98 912 {j:07d}", "", "again", ""])
        else:
            rows.append([f"Person {i}", f"0912{i:07d}", f"p{i}@mail.ir", "", f"C{i:05d}"])
    return write_csv(path, rows)


def expected_customers(n: int = N) -> dict:
    rejected = sum(1 for i in range(n) if i % 50 == 7)
    merged = sum(1 for i in range(n) if i % 10 == 5)
    return {"rows": n, "created": n - rejected - merged, "merged": merged, "rejected": rejected}


def history_file(path: Path, customers: int, per_customer: int, *, shuffled: bool = False) -> Path:
    """Purchases of the first ``customers`` people of :func:`customers_file` (by customer code),
    sorted by date (``shuffled``: in no order); every other one with an invoice number (external
    id)."""
    codes = [f"C{i:05d}" for i in range(customers * 2) if i % 10 != 5][:customers]
    rows = [["customer", "kind", "date", "amount", "invoice"]]
    k = 0
    for day in range(per_customer):
        for c, code in enumerate(codes):
            k += 1
            moment = date(2024, 1, 1) + timedelta(days=day)
            rows.append(
                [
                    code,
                    "purchase",
                    f"{moment} 10:{c % 60:02d}",
                    str(1000 + k),
                    f"F-{k}" if k % 2 else "",
                ]
            )
    if shuffled:
        body = rows[1:]
        random.Random(35).shuffle(body)
        rows = rows[:1] + body
    return write_csv(path, rows)


def count(app, model, *where) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def phones_owned_twice(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        owners = (
            select(CustomerPhone.e164)
            .join(Customer, Customer.id == CustomerPhone.customer_id)
            .where(Customer.merged_into_id.is_(None))
            .group_by(CustomerPhone.e164)
            .having(func.count() > 1)
        )
        return len(uow.session.execute(owners).all())


def counts(summary) -> dict:
    return {k: getattr(summary, k) for k in ("rows", "created", "merged", "rejected")}


# --- chunks
# ------------------------------------------------------------------------------------------------
def test_chunks_are_committed_and_recorded(crm_app, tmp_path):
    path = customers_file(tmp_path / "c.csv")
    s = import_customers(crm_app, path, chunk_rows=100, batch_size=50)
    assert counts(s) == expected_customers()
    with crm_app.unit_of_work(readonly=True) as uow:
        (run,) = uow.session.scalars(select(ImportRun))
    assert (run.kind, run.status, run.last_row, run.chunks) == ("customers", "done", N + 1, 4)
    assert (
        run.state["summary"]["created"] == s.created
        and s.import_id == run.id
        and s.resumed_after is None
    )
    again = import_customers(
        crm_app, path
    )  # a finished run is not resumed: a re-import changes nothing
    e = expected_customers()
    assert (again.created, again.unchanged, again.resumed_after) == (
        0,
        e["created"] + e["merged"],
        None,
    )


def test_a_finished_run_keeps_no_cells_of_its_rejected_rows(crm_app, tmp_path):
    """The cells of rejected rows are personal data kept only so that a killed import can resume;
    a finished run drops them (a forgotten person's phone does not stay in import_runs)."""
    path = write_csv(
        tmp_path / "c.csv", [["name", "mobile"], ["سارا", "09121234567"], ["", "09357654321"]]
    )
    s = import_customers(crm_app, path)
    assert s.rejected == 1
    with crm_app.unit_of_work(readonly=True) as uow:
        (run,) = uow.session.scalars(select(ImportRun))
    assert run.status == "done" and len(run.state["summary"]["rejections"]) == 1
    assert "09357654321" not in str(run.state)


def test_dry_run_stores_nothing_and_records_no_run(crm_app, tmp_path):
    s = import_customers(
        crm_app, customers_file(tmp_path / "c.csv"), dry_run=True, chunk_rows=100, batch_size=50
    )
    assert counts(s) == expected_customers()
    assert count(crm_app, Customer) == 0 and count(crm_app, ImportRun) == 0


# --- other commands during an import (SQLite: one writer at a time)
# ----------------------------------------
def _slow(progress_started: threading.Event, delay: float):
    def progress(_rows, _position):
        progress_started.set()
        time.sleep(delay)

    return progress


@pytest.mark.parametrize("kind", ["customers", "interactions", "unsorted interactions"])
def test_a_purchase_is_recorded_while_an_import_runs(
    crm_backend, crm_app, crm_cli, crm_app_factory, tmp_path, kind
):
    """SQLite has one writer at a time (PostgreSQL never made a purchase wait for an import). The
    import takes about 2 s (40 slowed batches); `crm interactions record` waits at most 1 s for the
    write lock, so it succeeds only if the import lets go of it between its chunks."""
    if crm_backend != "sqlite":
        pytest.skip("SQLite only")
    make_customer(crm_app, "Cashier's customer", phones=["09350000000"])
    if kind == "customers":
        path = customers_file(tmp_path / "c.csv", 800, bad=False)
    else:
        import_customers(crm_app, customers_file(tmp_path / "c.csv", 20, bad=False))
        path = history_file(tmp_path / "h.csv", 10, 80, shuffled=kind.startswith("unsorted"))
    importer = crm_app_factory(clock=None)
    started, failure = threading.Event(), []

    def run():
        try:
            fn = import_customers if kind == "customers" else import_interactions
            fn(importer, path, chunk_rows=40, batch_size=20, progress=_slow(started, 0.05))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10), failure
    began = time.monotonic()
    result = crm_cli(
        "interactions",
        "record",
        "09350000000",
        "--kind",
        "purchase",
        "--amount",
        "1000",
        env={"CRM_LOCK_WAIT": "1"},
    )
    waited = time.monotonic() - began
    still_importing = thread.is_alive()
    thread.join()
    assert not failure
    assert result.exit_code == 0, result.stderr
    assert still_importing and waited < 1.5
    assert count(crm_app, Interaction, Interaction.amount_minor == 1000) == 1


@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_a_dry_run_never_makes_a_purchase_wait(
    crm_backend, crm_app, crm_cli, crm_app_factory, tmp_path, kind
):
    """A dry run is one rolled-back transaction; on SQLite it runs on a copy of the database, so
    the till's `crm interactions record` (waiting at most 1 s) goes through while it runs."""
    if crm_backend != "sqlite":
        pytest.skip("SQLite only")
    make_customer(crm_app, "Cashier's customer", phones=["09350000000"])
    if kind == "customers":
        path = customers_file(tmp_path / "c.csv", 800, bad=False)
    else:
        import_customers(crm_app, customers_file(tmp_path / "c.csv", 20, bad=False))
        path = history_file(tmp_path / "h.csv", 10, 80)
    before = count(crm_app, Interaction), count(crm_app, Customer)
    importer = crm_app_factory(clock=None)
    started, failure, summaries = threading.Event(), [], []

    def run():
        try:
            fn = import_customers if kind == "customers" else import_interactions
            summaries.append(
                fn(importer, path, dry_run=True, batch_size=20, progress=_slow(started, 0.05))
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10), failure
    result = crm_cli(
        "interactions",
        "record",
        "09350000000",
        "--kind",
        "purchase",
        "--amount",
        "1000",
        env={"CRM_LOCK_WAIT": "1"},
    )
    still_running = thread.is_alive()
    thread.join()
    assert not failure
    assert result.exit_code == 0, result.stderr
    assert still_running
    (summary,) = summaries
    if kind == "customers":
        assert (summary.created, summary.merged) == (720, 80)  # every tenth row is a repeat
    else:
        assert summary.recorded == 800
    assert count(crm_app, Interaction) == before[0] + 1  # only the till's purchase
    assert count(crm_app, Customer) == before[1]
    assert count(crm_app, ImportRun, ImportRun.kind == kind) == 0


# --- a killed import goes on where it stopped
# ---------------------------------------------------------------
def _kill_mid_file(
    url: str, kind: str, path: Path, min_chunks: int, errors: Path | None = None
) -> None:
    """Start the slowed import in a process of its own and SIGKILL it once ``min_chunks`` are
    committed."""
    probe = CRM(url, plugins=[])
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SLOW_IMPORT),
            url,
            kind,
            str(path),
            "40",
            "20",
            "0.05",
            str(errors or ""),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with probe.unit_of_work(readonly=True) as uow:
                chunks = uow.session.scalar(
                    select(func.max(ImportRun.chunks)).where(ImportRun.kind == kind)
                )
            if (chunks or 0) >= min_chunks:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        probe.dispose()


def test_a_killed_customer_import_resumes_with_exact_totals(crm_app, crm_cli, tmp_path):
    path = customers_file(tmp_path / "c.csv")
    errors = tmp_path / "rejected.csv"
    _kill_mid_file(crm_app.url, "customers", path, 3, errors)
    with crm_app.unit_of_work(readonly=True) as uow:
        (run,) = uow.session.scalars(select(ImportRun))
    assert run.status == "running" and 1 < run.last_row < N + 1
    committed = count(crm_app, Customer)
    assert 0 < committed < expected_customers()["created"]

    result = crm_cli("customers", "import", str(path), "--json", "--errors", str(errors))
    assert result.exit_code == 1  # rows were rejected
    out = result.json()
    assert {k: out[k] for k in ("rows", "created", "merged", "rejected")} == expected_customers()
    assert out["import_id"] == run.id and out["resumed_after_row"] == run.last_row
    assert (
        count(crm_app, Customer) == expected_customers()["created"]
        and phones_owned_twice(crm_app) == 0
    )
    with open(errors, encoding="utf-8-sig") as f:
        rejected_rows = [int(r[0]) for r in list(csv.reader(f))[1:]]
    assert rejected_rows == [i + 2 for i in range(N) if i % 50 == 7]  # each once, in order
    text = crm_cli("customers", "import", str(path))  # done now: a plain re-import, nothing resumed
    assert "resumed" not in text.stdout


@pytest.mark.parametrize("shuffled", [False, True], ids=["sorted", "unsorted"])
def test_a_killed_history_import_resumes_with_exact_totals(crm_app, crm_cli, tmp_path, shuffled):
    """An unsorted file is imported sorted by date from a spool, in chunks as well: a killed run
    resumes within the sorted rows."""
    import_customers(crm_app, customers_file(tmp_path / "c.csv", 30, bad=False))
    path = history_file(tmp_path / "h.csv", 20, 30, shuffled=shuffled)  # 600 purchases
    _kill_mid_file(crm_app.url, "interactions", path, 3)
    assert 0 < count(crm_app, Interaction) < 600
    with crm_app.unit_of_work(readonly=True) as uow:
        (run,) = uow.session.scalars(select(ImportRun).where(ImportRun.kind == "interactions"))
    assert (run.state["extra"].get("sorted_done", 0) > 0) == shuffled
    result = crm_cli("interactions", "import", str(path), "--json")
    assert result.exit_code == 0, result.stdout[-3000:]
    out = result.json()
    assert (out["rows"], out["recorded"], out["already_imported"], out["rejected"]) == (
        600,
        600,
        0,
        0,
    )
    assert out["resumed_after_row"] is not None
    assert count(crm_app, Interaction) == 600
    with crm_app.unit_of_work(readonly=True) as uow:
        total = uow.session.scalar(select(func.sum(Interaction.amount_minor)))
    assert total == sum(1000 + k for k in range(1, 601))
    assert count(crm_app, OutboxEvent, OutboxEvent.event == "crm_interaction_recorded") == 600
    if shuffled:  # each customer's purchases announced in date order, across the resume
        events = outbox_events(crm_app, "crm_interaction_recorded")
        per_customer: dict = {}
        for e in sorted(events, key=lambda e: e["id"]):
            per_customer.setdefault(e["customer_id"], []).append(e["payload"]["occurred_at"])
        assert all(seen == sorted(seen) for seen in per_customer.values())


# --- imports at the same time
# --------------------------------------------------------------------------------
def _together(jobs):
    """Run the jobs in threads at the same moment; returns their results (exceptions re-raised)."""
    results, errors, barrier = [None] * len(jobs), [], threading.Barrier(len(jobs))

    def run(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_parallel_imports_of_overlapping_files_give_the_database_of_one_import(
    crm_app, crm_app_factory, tmp_path
):
    first = customers_file(tmp_path / "a.csv", 300, 0, bad=False)
    second = customers_file(
        tmp_path / "b.csv", 300, 150, bad=False
    )  # rows 150…299 are in both files
    waits: list[str] = []
    apps = [crm_app_factory(clock=None), crm_app_factory(clock=None)]
    _together(
        [
            lambda: import_customers(
                apps[0], first, chunk_rows=40, batch_size=20, on_wait=waits.append
            ),
            lambda: import_customers(
                apps[1], second, chunk_rows=40, batch_size=20, on_wait=waits.append
            ),
        ]
    )
    people = {f"0912{i:07d}" for i in range(450)}
    assert count(crm_app, Customer) == len(people) - 45  # rows i % 10 == 5 are row i - 5 again
    assert phones_owned_twice(crm_app) == 0
    assert len(waits) == 1 and waits[0].startswith("waiting for import #")

    history = history_file(
        tmp_path / "h.csv", 40, 10
    )  # the same history twice at once: stored once
    summaries = _together(
        [
            lambda: import_interactions(apps[0], history, chunk_rows=40, batch_size=20),
            lambda: import_interactions(apps[1], history, chunk_rows=40, batch_size=20),
        ]
    )
    assert count(crm_app, Interaction) == 400
    assert sorted(s.recorded for s in summaries) == [0, 400]


def test_two_inits_at_once(crm_empty_database_url):
    apps = [CRM(crm_empty_database_url, plugins=[]), CRM(crm_empty_database_url, plugins=[])]
    try:
        assert _together([apps[0].init, apps[1].init]) == [["kernel"], ["kernel"]]
    finally:
        for app in apps:
            app.dispose()
