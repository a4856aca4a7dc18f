"""crmcore.storage.background: an import's inserts on a second thread store exactly what they store at once,
in order, and a failure among them fails the command and stores nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime, timezone
from functools import partial
from unittest import mock

import pytest
from sqlalchemy import MetaData, Table, func, inspect, select

import crmcore.storage.background as background
import crmcore.storage.bulk as bulk
from crmcore.app import CRM
from crmcore.importing import import_customers, import_interactions
from crmcore.storage.background import background_inserts
from crmcore.storage.bulk import insert_rows, insert_with_ids
from crmcore.storage.models import AuditEntry, Customer, CustomerTag, OutboxEvent
from crmcore.testing.helpers import FrozenClock

from .importing.conftest import write_csv

NOW = datetime(2026, 3, 20, 20, 30, tzinfo=timezone.utc)

CUSTOMERS = [["نام", "نام خانوادگی", "موبایل", "ایمیل", "شهر", "تاریخ تولد", "برچسب", "کد مشتری"]]
for i in range(60):
    CUSTOMERS.append(
        [
            "علی" if i % 2 else "Sara",
            f"کریمی{i % 7}",
            f"0912{i:07d}",
            f"user{i}@mail.ir",
            "تهران" if i % 3 else "",
            f"13{60 + i % 30}-0{1 + i % 9}-1{i % 9}",
            ["vip", "عمده", ""][i % 3],
            f"C{i}" if i % 4 == 0 else "",
        ]
    )
    if i % 5 == 0:  # the same person again, another spelling and phone format, a new tag
        CUSTOMERS.append(
            ["علي", f"كريمي{i % 7}", f"+98 912 {i:07d}", f"USER{i}@MAIL.IR", "", "", "آنلاین", ""]
        )
HISTORY = [["customer", "kind", "occurred_at", "amount", "currency", "channel", "note"]]
for i in range(90):
    HISTORY.append(
        [
            f"0912{i % 70:07d}",
            "purchase",
            f"1403-0{1 + i % 9}-{10 + i % 18}",
            str(1000 * (i + 1)),
            "IRR",
            "shop",
            f"یادداشت\u200cها {i}",
        ]
    )


def _dump_sqlite(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, each value with its SQLite storage class."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {}
        for t in tables:
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')]
            sel = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
            # insertion order where the table has a rowid; a WITHOUT ROWID table by its key
            rowid = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (t,)).fetchone()
            order = "1" if "WITHOUT ROWID" in (rowid[0] or "").upper() else "rowid"
            out[t] = conn.execute(f'SELECT {sel} FROM "{t}" ORDER BY {order}').fetchall()
        return out
    finally:
        conn.close()


def _dump(app) -> dict[str, list[tuple]]:
    """Every row of every table (PostgreSQL: in the order of all their columns)."""
    if app.engine.dialect.name == "sqlite":
        return _dump_sqlite(app.url)
    out = {}
    with app.engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            table = Table(name, MetaData(), autoload_with=conn)
            out[name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.c))]
    return out


def _import_everything(app, tmp_path) -> None:
    people = write_csv(tmp_path / "customers.csv", CUSTOMERS)
    history = write_csv(tmp_path / "history.csv", HISTORY)
    import_customers(app, people, batch_size=7)
    import_customers(app, people, batch_size=11)  # again: every row merges or is unchanged
    import_interactions(app, history, create_customers=True, batch_size=13)


def test_imports_store_the_same_rows_with_and_without_the_writer_thread(
    crm_backend, crm_app_factory, tmp_path, request
):
    written = []
    original = background.BackgroundWriter._run

    def counting_run(self):
        original(self)
        written.append(self.statements)

    with mock.patch.object(background.BackgroundWriter, "_run", counting_run):
        threaded = crm_app_factory()
        _import_everything(threaded, tmp_path)
    assert (
        sum(written) > 20
    )  # the inserts of several batches and tables really went through the thread
    first = _dump(threaded)
    threaded.dispose()
    if crm_backend == "sqlite":  # a second database
        (tmp_path / "second").mkdir()
        url = request.getfixturevalue("_crm_sqlite_template").fresh(tmp_path / "second")
    else:  # the same schema emptied, its sequences restarted
        request.getfixturevalue("_crm_postgres").truncate()
        url = threaded.url
    with mock.patch.object(bulk, "writer_for", lambda connection: None):
        at_once = CRM(url, plugins=[], clock=FrozenClock())
        try:
            _import_everything(at_once, tmp_path)
            second = _dump(at_once)
        finally:
            at_once.dispose()
    assert first["customers"] and first["interactions"] and first["outbox"]
    for setup in ("crm_plugins", "alembic_version", "crm_settings"):  # written by the schema's
        # creation (a plugin's migration may store a setting), not by the imports
        first.pop(setup), second.pop(setup)
    assert first == second


def test_a_statement_after_queued_inserts_sees_them_in_order(crm_app):
    n = 4_000
    original = background.BackgroundWriter._execute

    def slow_execute(self, *job):  # the writer is surely behind when the SELECT comes
        time.sleep(0.05)
        return original(self, *job)

    rows = [
        {
            "event": "test_event",
            "customer_id": None,
            "payload": {"n": i, "text": "علی\u200cرضا"},
            "created_at": NOW,
            "published_at": None,
            "attempts": 0,
        }
        for i in range(n)
    ]
    with mock.patch.object(background.BackgroundWriter, "_execute", slow_execute):
        with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
            for start in range(0, n, 500):
                insert_rows(uow.session, OutboxEvent.__table__, rows[start : start + 500])
            stored = (
                uow.session.execute(
                    select(OutboxEvent.payload)
                    .where(OutboxEvent.event == "test_event")
                    .order_by(OutboxEvent.id)
                )
                .scalars()
                .all()
            )
            assert writer.statements == n // 500  # the inserts went through the writer thread
    assert [p["n"] for p in stored] == list(range(n))
    assert stored[0]["text"] == "علی\u200cرضا"


def test_a_failing_background_insert_fails_the_command_and_stores_nothing(crm_app):
    def run():
        with crm_app.unit_of_work() as uow, background_inserts(uow.session):
            ids = insert_with_ids(
                uow.session,
                Customer.__table__,
                [
                    {
                        "kind": "person",
                        "display_name": "Ali",
                        "search_key": "ali",
                        "external_id": None,
                        "birthday": None,
                        "city": None,
                        "address": None,
                        "owner": None,
                        "consent_sms": False,
                        "consent_email": False,
                        "attributes": {},
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                ],
            )
            insert_rows(
                uow.session, CustomerTag.__table__, [{"customer_id": ids[0], "tag": "vip"}] * 2
            )  # twice
            insert_rows(
                uow.session,
                AuditEntry.__table__,
                [
                    {
                        "at": NOW,
                        "actor": "t",
                        "action": "after",
                        "entity": "x",
                        "entity_id": None,
                        "customer_id": None,
                        "changes": {},
                    }
                ],
            )
            uow.session.scalar(
                select(func.count(Customer.id))
            )  # the next statement raises the failure

    with pytest.raises(
        Exception
    ) as failure:  # SQLAlchemy's IntegrityError on SQLite, psycopg's from COPY
        run()
    assert "unique" in str(failure.value).lower()
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 0
        assert (
            uow.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "after")
            )
            == 0
        )


@pytest.mark.parametrize(
    "attempts",
    [[2**64], [2**63, 2**63], [1, 2**63], [1, -(2**63) - 1], [1, 2**64]],
    ids=["one row", "the same in every row", "in one row", "below", "beyond unsigned"],
)
def test_an_integer_beyond_64_bits_is_refused_not_rounded(crm_app, attempts):
    with pytest.raises(Exception) as failure:
        with crm_app.unit_of_work() as uow, background_inserts(uow.session):
            insert_rows(
                uow.session,
                OutboxEvent.__table__,
                [
                    {
                        "event": "big",
                        "customer_id": None,
                        "payload": {"n": i},
                        "created_at": NOW,
                        "published_at": None,
                        "attempts": n,
                    }
                    for i, n in enumerate(attempts)
                ],
            )
    assert "range" in str(failure.value) or "too large" in str(
        failure.value
    )  # SQLite / its driver / PostgreSQL
    with crm_app.unit_of_work(readonly=True) as uow:
        assert (
            uow.session.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.event == "big"))
            == 0
        )


@pytest.mark.parametrize(
    "entity_ids,customer_ids,changes",
    [
        (["a", "b", "c"], [1, 2, None], [{"i": 1}, {"i": 2}, {}]),  # every column differs
        (["a", "b", "a"], [7, None, 7], [{"i": 1}] * 3),  # first and last alike, not the middle
        (
            ["a", "a", "a"],
            [None, None, None],
            [{"i": 1}, {}, {"نام": "ك"}],
        ),  # only one column differs
        (["a", "a", "a"], [5, 5, 5], [{"نام": "علی\u200cرضا"}] * 3),  # nothing differs
    ],
    ids=["all differ", "middle differs", "one differs", "none differs"],
)
def test_batch_wide_values_are_bound_once_and_stored_exactly(
    crm_app, entity_ids, customer_ids, changes
):
    rows = [
        {
            "at": NOW,
            "actor": "x",
            "action": "shape",
            "entity": "x",
            "entity_id": entity_id,
            "customer_id": customer_id,
            "changes": change,
        }
        for entity_id, customer_id, change in zip(entity_ids, customer_ids, changes)
    ]
    with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
        insert_rows(uow.session, AuditEntry.__table__, rows)
        stored = uow.session.execute(
            select(AuditEntry.entity_id, AuditEntry.customer_id, AuditEntry.changes)
            .where(AuditEntry.action == "shape")
            .order_by(AuditEntry.id)
        ).all()
        assert writer is None or writer.statements == 1
    assert [tuple(r) for r in stored] == [
        (r["entity_id"], r["customer_id"], r["changes"]) for r in rows
    ]


def test_text_with_a_nul_character_is_stored_exactly(crm_backend, crm_app):
    if crm_backend != "sqlite":
        pytest.skip("PostgreSQL text cannot hold NUL")
    with crm_app.unit_of_work() as uow, background_inserts(uow.session):
        insert_rows(
            uow.session,
            AuditEntry.__table__,
            [  # the actor is the same in both rows (bound once)
                {
                    "at": NOW,
                    "actor": "a\x00b",
                    "action": "nul",
                    "entity": "x",
                    "entity_id": f"\x00{i}",
                    "customer_id": None,
                    "changes": {},
                }
                for i in range(2)
            ],
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = uow.session.execute(
            select(AuditEntry.actor, AuditEntry.entity_id)
            .where(AuditEntry.action == "nul")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in stored] == [("a\x00b", "\x000"), ("a\x00b", "\x001")]


def test_the_block_own_error_wins_and_the_switch_interval_comes_back(crm_app):
    before = sys.getswitchinterval()
    with pytest.raises(KeyError):
        with crm_app.unit_of_work() as uow, background_inserts(uow.session):
            insert_rows(
                uow.session, CustomerTag.__table__, [{"customer_id": 999_999, "tag": "x"}]
            )  # no such customer
            raise KeyError("the block's own error")
    assert sys.getswitchinterval() == before
    assert not background._WRITERS


def test_the_queue_is_bounded_when_python_runs_ahead(crm_app):
    original = background.BackgroundWriter._execute
    queued = []

    def slow_execute(self, *job):
        queued.append(len(self._jobs))
        time.sleep(0.002)
        return original(self, *job)

    rows = [
        {
            "event": "bounded",
            "customer_id": None,
            "payload": {"n": i},
            "created_at": NOW,
            "published_at": None,
            "attempts": 0,
        }
        for i in range(background.MAX_QUEUED * 3)
    ]
    with mock.patch.object(background.BackgroundWriter, "_execute", slow_execute):
        with crm_app.unit_of_work() as uow, background_inserts(uow.session):
            for row in rows:  # one statement each, far more than the queue holds
                insert_rows(uow.session, OutboxEvent.__table__, [row])
    assert len(queued) == len(rows) and max(queued) < background.MAX_QUEUED
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = uow.session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event == "bounded")
            .order_by(OutboxEvent.id)
        ).all()
    assert [p["n"] for p in stored] == list(range(len(rows)))


class _OddText(str):
    """Text of a type the COPY formatter does not know: PostgreSQL writes it at once, with ``write_row``."""


def test_an_insert_written_at_once_waits_for_the_queue(crm_backend, crm_app):
    original = background.BackgroundWriter._execute

    def slow_execute(self, *job):  # the customers are still queued when the tags come
        time.sleep(0.2)
        return original(self, *job)

    # neither can go through the writer thread (a NUL character in a value that differs from row to row)
    tags = [f"a\x00b{i}" if crm_backend == "sqlite" else _OddText("vip") for i in range(3)]
    with mock.patch.object(background.BackgroundWriter, "_execute", slow_execute):
        with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
            ids = insert_with_ids(
                uow.session,
                Customer.__table__,
                [
                    {
                        "kind": "person",
                        "display_name": f"Ali {i}",
                        "search_key": f"ali {i}",
                        "external_id": None,
                        "birthday": None,
                        "city": None,
                        "address": None,
                        "owner": None,
                        "consent_sms": False,
                        "consent_email": False,
                        "attributes": {},
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in range(3)
                ],
            )
            insert_rows(
                uow.session,
                CustomerTag.__table__,
                [{"customer_id": cid, "tag": tag} for cid, tag in zip(ids, tags)],
            )
            assert (
                writer.statements == 1
            )  # the customers, before the tags (their foreign key would fail)
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = uow.session.scalars(
            select(CustomerTag.tag).order_by(CustomerTag.customer_id)
        ).all()
    assert stored == list(map(str, tags))


def test_sqlite_gets_a_larger_page_cache_for_the_block_and_its_own_back_afterwards(
    crm_backend, crm_app
):
    if crm_backend != "sqlite":
        pytest.skip("SQLite's page cache")

    def cache_size(session) -> int:
        return session.connection().exec_driver_sql("PRAGMA cache_size").scalar()

    with crm_app.unit_of_work() as uow:
        before = cache_size(uow.session)
        with background_inserts(uow.session):
            during = cache_size(uow.session)
        after = cache_size(uow.session)
        uow.session.connection().exec_driver_sql(
            f"PRAGMA cache_size={-2 * background.IMPORT_CACHE_KIB}"
        )
        with background_inserts(uow.session):
            larger = cache_size(uow.session)
        uow.session.connection().exec_driver_sql(f"PRAGMA cache_size={before}")
    assert (
        before > -background.IMPORT_CACHE_KIB
    )  # SQLite's default (-2000), smaller than the import's
    assert during == -background.IMPORT_CACHE_KIB
    assert after == before
    assert larger == -2 * background.IMPORT_CACHE_KIB  # a larger cache is kept, not shrunk


def _audit_rows(n: int, action: str) -> list[dict]:
    return [
        {
            "at": NOW,
            "actor": "test",
            "action": action,
            "entity": "customer",
            "entity_id": str(i),
            "customer_id": None,
            "changes": {"n": i},
        }
        for i in range(n)
    ]


def _outbox_rows(n: int) -> list[dict]:
    return [
        {
            "event": "test_event",
            "customer_id": None,
            "payload": {"n": i},
            "created_at": NOW,
            "published_at": None,
            "attempts": 0,
        }
        for i in range(n)
    ]


def _counts(connection):
    """(audit entries of the test, test outbox events), counted on whatever thread calls it."""
    return (
        connection.exec_driver_sql(
            "SELECT count(*) FROM audit_log WHERE action = 'queued'"
        ).scalar(),
        connection.exec_driver_sql(
            "SELECT count(*) FROM outbox WHERE event = 'test_event'"
        ).scalar(),
    )


def test_a_queued_call_runs_after_the_inserts_into_the_tables_it_reads_and_before_the_others(
    crm_app,
):
    import threading

    release = threading.Event()
    with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
        connection = uow.session.connection()
        writer.submit_call(release.wait)  # the writer is busy until everything below is queued
        insert_rows(uow.session, AuditEntry.__table__, _audit_rows(30, "queued"))
        insert_rows(uow.session, OutboxEvent.__table__, _outbox_rows(20))
        ahead = writer.submit_call(partial(_counts, connection), reads=["audit_log"])
        after_all = writer.submit_call(partial(_counts, connection))
        release.set()
        assert ahead.result() == (
            30,
            0,
        )  # it went ahead of the outbox rows, not of the audit entries
        assert after_all.result() == (30, 20)
        assert _counts(connection) == (30, 20)


def test_a_failing_call_raises_in_the_caller_and_the_queue_goes_on(crm_app):
    def broken():
        raise LookupError("nothing here")

    with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
        call = writer.submit_call(broken)
        insert_rows(uow.session, OutboxEvent.__table__, _outbox_rows(5))
        with pytest.raises(LookupError, match="nothing here"):
            call.result()
        assert _counts(uow.session.connection()) == (0, 5)


def test_a_call_queued_after_a_failing_insert_raises_that_failure(crm_app):
    import threading

    from sqlalchemy.exc import DBAPIError

    release = threading.Event()
    ran = []
    with pytest.raises(DBAPIError):
        with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
            writer.submit_call(release.wait)
            insert_rows(
                uow.session, CustomerTag.__table__, [{"customer_id": 999_999, "tag": "x"}]
            )  # no such customer
            ahead = writer.submit_call(
                lambda: ran.append("ahead"), reads=["customers"]
            )  # goes before the tags
            call = writer.submit_call(lambda: ran.append("after"), reads=["customer_tags"])
            release.set()
            ahead.result()
            try:
                call.result()
            finally:
                assert call.dropped and ran == ["ahead"]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.query(CustomerTag).count() == 0
