"""`crm backup` and `crm restore`: a backup taken while sales are being written holds every sale
committed before it began (SQLite: also those still in the -wal file), and a restore is verified:
integrity, the rows of every table against the manifest, and the plugins' checks (the loyalty
ledger)."""

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from crmcore.storage.backup import BackupError, backup, manifest_path, restore
from crmcore.storage.models import Interaction
from crmcore.testing import make_customer, record_purchase


class SalesWriter(threading.Thread):
    """Records purchases through the application until stopped; remembers each committed sale."""

    def __init__(self, app, customer_id):
        super().__init__(daemon=True)
        self.app, self.customer_id = app, customer_id
        self.committed: list[int] = []
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                self.committed.append(record_purchase(self.app, self.customer_id, 10_000 + n))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.committed) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.01)
        assert self.error is None and len(self.committed) >= count, self.error


def sale_ids(app) -> set[int]:
    with app.sessionmaker() as s:
        return set(s.scalars(select(Interaction.id)))


def sqlite_path(app) -> Path:
    return Path(make_url(app.url).database)


def test_a_backup_taken_while_sales_are_written_restores_every_committed_sale(
    crm_app, crm_backend, tmp_path
):
    customer = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    writer = SalesWriter(crm_app, customer)
    writer.start()
    try:
        writer.wait_for(5)
        before = list(writer.committed)
        if (
            crm_backend == "sqlite"
        ):  # what the issue saw: a plain copy misses what is in the -wal file
            shutil.copyfile(sqlite_path(crm_app), tmp_path / "copied.db")
        result = backup(crm_app, tmp_path / "crm.backup")
        writer.wait_for(len(writer.committed) + 5)  # the writer went on during and after the backup
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None
    if crm_backend == "sqlite":
        copied = (
            sqlite3.connect(tmp_path / "copied.db")
            .execute("SELECT count(*) FROM interactions")
            .fetchone()
        )
        assert copied[0] < len(before)
        assert not Path(str(tmp_path / "crm.backup") + "-wal").exists()
    manifest = json.loads(manifest_path(tmp_path / "crm.backup").read_text())
    assert manifest["tables"] == result.tables and manifest["dialect"] == crm_backend
    in_backup = result.tables["interactions"]
    assert len(before) <= in_backup < len(writer.committed)

    report = restore(crm_app, tmp_path / "crm.backup")
    assert report.ok, report
    restored = sale_ids(crm_app)
    assert set(before) <= restored and len(restored) == in_backup
    assert restored == set(
        writer.committed[:in_backup]
    )  # exactly what was committed when it was taken


def test_a_damaged_backup_is_refused_and_the_database_is_left_alone(crm_app, tmp_path):
    customer = make_customer(crm_app)
    record_purchase(crm_app, customer, 5000)
    backup(crm_app, tmp_path / "b")
    with open(tmp_path / "b", "r+b") as f:
        f.seek(200)
        f.write(b"\0garbage")
    record_purchase(crm_app, customer, 7000)
    with pytest.raises(BackupError, match="does not match its manifest"):
        restore(crm_app, tmp_path / "b")
    assert len(sale_ids(crm_app)) == 2


def test_restore_reports_rows_that_do_not_match_the_manifest(crm_app, tmp_path):
    record_purchase(crm_app, make_customer(crm_app), 5000)
    backup(crm_app, tmp_path / "b")
    manifest = json.loads(manifest_path(tmp_path / "b").read_text())
    manifest["tables"]["interactions"] = 2  # as if a table came back short
    manifest_path(tmp_path / "b").write_text(json.dumps(manifest))
    report = restore(crm_app, tmp_path / "b")
    assert not report.ok and report.mismatched == {"interactions": (2, 1)}


@pytest.mark.crm_plugins("loyalty")
def test_restore_runs_the_loyalty_ledger_check(crm_app, crm_cli, tmp_path):
    from crmcore_loyalty.models import LoyaltyEntry

    customer = make_customer(crm_app)
    assert crm_cli("loyalty", "adjust", str(customer), "120", "--reason", "welcome").exit_code == 0
    with crm_app.sessionmaker() as s, s.begin():  # someone edited the ledger behind the CRM's back
        s.execute(update(LoyaltyEntry).values(points=1200))
    backup(crm_app, tmp_path / "b")
    result = crm_cli("restore", str(tmp_path / "b"), "--yes")
    assert result.exit_code == 1
    assert (
        f"loyalty: customer {customer}, entry 1: its content does not match its hash"
        in result.stderr
    )
    assert "VERIFICATION FAILED" in result.stdout


def test_backup_and_restore_commands(crm_app, crm_cli, tmp_path):
    record_purchase(crm_app, make_customer(crm_app), 5000)
    target = tmp_path / "nightly.backup"
    made = crm_cli("backup", str(target))
    assert made.exit_code == 0, made
    assert f"to {target} (" in made.stdout and "manifest" in made.stdout
    record_purchase(crm_app, make_customer(crm_app, "Ali"), 9000)
    assert crm_cli("restore", str(target), input="n\n").exit_code == 1  # asked, and declined
    assert len(sale_ids(crm_app)) == 2
    done = crm_cli("restore", str(target), "--yes", "--json")
    assert done.exit_code == 0, done
    data = done.json()
    assert data["ok"] and data["tables"]["interactions"] == {"expected": 1, "restored": 1}
    assert len(sale_ids(crm_app)) == 1
    missing = crm_cli("restore", str(tmp_path / "nope"), "--yes")
    assert missing.exit_code == 1 and "no backup file" in missing.stderr
    assert crm_cli("backup", str(tmp_path)).exit_code != 0


def test_a_sqlite_backup_without_its_manifest_is_verified_against_itself(
    crm_app, crm_backend, tmp_path
):
    if crm_backend != "sqlite":
        pytest.skip("a PostgreSQL archive needs its manifest")
    record_purchase(crm_app, make_customer(crm_app), 5000)
    backup(crm_app, tmp_path / "b")
    manifest_path(tmp_path / "b").unlink()
    record_purchase(crm_app, make_customer(crm_app), 6000)
    report = restore(crm_app, tmp_path / "b")
    assert report.ok and report.tables["interactions"] == (1, 1)
    with crm_app.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Interaction)) == 1
