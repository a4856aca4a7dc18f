"""Overlapping batches (SQLite, no plugin hook during the import): a batch's lookups run on the writer thread
(crmcore.importing.sqlite_lookups) while the next batch is read. They find what the importer's own lookup
finds, and the import stores what one batch after the other stores."""

import time
from contextlib import contextmanager
from unittest import mock

import attrs
import pytest
from sqlalchemy import update

from crmcore.api import AttributeSpec, hookimpl
from crmcore.importing import import_customers
from crmcore.importing.customers import CustomerImporter
from crmcore.importing.lookups import json_param
from crmcore.importing.sqlite_lookups import SqliteBatchLookups
from crmcore.services.customers import merge_customers, prepare_customer
from crmcore.storage.background import BackgroundWriter
from crmcore.storage.bulk import reserve_ids
from crmcore.storage.models import Customer
from crmcore.testing import make_customer

from .conftest import write_csv
from .test_import_merges import dump, wipe


class Club:
    @hookimpl
    def crm_customer_attributes(self):
        return [AttributeSpec("member_no", "int")]


@pytest.fixture
def sqlite_only(crm_backend):
    if crm_backend != "sqlite":
        pytest.skip("batches overlap on SQLite only")


def seed(app) -> dict[str, int]:
    ids = {
        # phones and emails whose positions are not their alphabetical order
        "kaveh": make_customer(
            app,
            "کاوه",
            phones=["09350001111", "02188880000", "09120000001"],
            emails=["z@x.ir", "a@x.ir"],
            tags=["vip", "آنلاین", "عمده"],
            birthday="1370-01-02",
            city="رشت",
            consent_sms=True,
            attributes={"member_no": "7"},
        ),
        "sara": make_customer(app, "Sara Amini", emails=["sara@x.ir"], external_id="S-1"),
        "old": make_customer(app, "Old Sara", phones=["09121110000"], external_id="O-1"),
        "gone": make_customer(app, "Gone", phones=["09125550000"], emails=["gone@x.ir"]),
        "plain": make_customer(app, "بی‌تماس", city="قم"),
    }
    with app.unit_of_work() as uow:
        merge_customers(uow, ids["sara"], ids["old"])  # O-1 stays on the merged-away record
        # updated_at given: the column's onupdate would stamp the row with the real clock, not the frozen one
        uow.session.execute(
            update(Customer)
            .where(Customer.id == ids["gone"])
            .values(forgotten_at=uow.now(), updated_at=uow.now())
        )
        # the same for the merge's UPDATE of the merged-away row: its updated_at, set to the frozen clock's
        # unchanged value, is left out of the SET and the onupdate fills it in
        uow.session.execute(
            update(Customer).where(Customer.id == ids["old"]).values(updated_at=uow.now())
        )
    return ids


def test_the_sqlite_lookups_find_what_the_importers_own_lookup_finds(sqlite_only, crm_app_factory):
    app = crm_app_factory(extra_plugins=[("club", Club(), None)])
    ids = seed(app)
    prepared = [
        prepare_customer(name="x", phones=["02188880000"], emails=["SARA@X.IR"]),
        prepare_customer(name="y", external_id="S-1", emails=["a@x.ir"]),
        prepare_customer(
            name="z", phones=["09125550000", "09129999999"], emails=["gone@x.ir", "new@x.ir"]
        ),
        prepare_customer(name="w", external_id="NEW-1"),
    ]
    codes = json_param(sorted({p.external_id for p in prepared if p.external_id}))
    phones = json_param(sorted({ph.e164 for p in prepared for ph in p.phones}))
    emails = json_param(sorted({e for p in prepared for e in p.emails}))
    with app.unit_of_work(readonly=True) as uow:
        importer = CustomerImporter(uow, None, "merge", None, None)
        expected = importer._lookup(prepared, uow.session)
        connection = uow.session.connection()
        lookups = SqliteBatchLookups(connection.dialect)
        dbapi_connection = connection.connection.dbapi_connection
        found = lookups.fetch(
            dbapi_connection, codes, phones, emails, lambda: pytest.fail("no fallback expected")
        )
        got_ids, got_customers = lookups.assemble(found)
        # a code kept by a merged-away customer leaves the batch to the importer's lookup
        assert (
            lookups.fetch(dbapi_connection, json_param(["O-1"]), "[]", "[]", lambda: "fallback")
            == "fallback"
        )
        # so do a row without phone, email or code, and a value with a NUL character (JSON text
        # ends there; prepare_customer refuses it, so the importer never meets one: built here)
        queued = []
        writer = mock.Mock(submit_call=lambda function, reads: queued.append(function))
        nul = attrs.evolve(prepared[3], external_id="C\x001")
        for rows in ([prepare_customer(name="بی‌تماس")], [nul], prepared):
            importer._queue_lookup(writer, lookups, rows, connection)
        assert [getattr(f.func, "__name__", None) for f in queued] == [
            "_lookup",
            "_lookup",
            "fetch",
        ]
    assert got_ids == expected.ids
    assert set(got_ids) == {
        "p:+982188880000",
        "e:sara@x.ir",
        "x:S-1",
        "e:a@x.ir",
    }  # not the forgotten one's
    assert {cid: attrs.asdict(c) for cid, c in got_customers.items()} == {
        cid: attrs.asdict(c) for cid, c in expected.customers.items()
    }
    kaveh = got_customers[ids["kaveh"]]
    assert kaveh.phones == ["+989350001111", "+982188880000", "+989120000001"]
    assert (
        kaveh.emails == ["z@x.ir", "a@x.ir"]
        and len(kaveh.tags) == 3
        and kaveh.tags == sorted(kaveh.tags)
    )
    assert (kaveh.consent_sms, kaveh.attributes, kaveh.birthday.isoformat()) == (
        True,
        {"member_no": 7},
        "1991-03-22",
    )
    app.dispose()


HEADER = ["name", "mobile", "email", "tags", "city", "birthday", "customer code", "attr.member_no"]


def sheet(tmp_path):
    rows = [HEADER]
    for i in range(40):
        rows.append(
            [
                f"مشتری {i}",
                f"0912{i:07d}",
                f"c{i}@mail.ir",
                ["vip", "", "عمده"][i % 3],
                "تهران" if i % 2 else "",
                "",
                f"K-{i}" if i % 4 == 0 else "",
                str(i) if i % 5 == 0 else "",
            ]
        )
        if i >= 2:  # a row of the batch before (mostly) again: another format, something new
            j = i - 1 - i % 2
            rows.append(
                [
                    f"مشتري {j}",
                    f"+98 912 {j:07d}" if i % 3 != 1 else "",
                    f"C{j}@Mail.IR" if i % 3 else "",
                    "جدید",
                    "شیراز",
                    "1365-01-0" + str(1 + i % 9),
                    f"K-{j}" if j % 4 == 0 and i % 5 == 0 else "",
                    "",
                ]
            )
        if i % 7 == 0:  # stored customers: a fill, a new phone, a code of a merged-away customer
            rows.append(["Kaveh", "09350001111; 0912 888 " + f"{i:04d}", "", "", "", "", "", ""])
            rows.append(["Sara", "", "SARA@x.ir", "تازه", "کرج", "", "", ""])
            rows.append(["Old Sara", "", "", "", "", "", "O-1", ""])
        if i % 9 == 0:  # no phone, email or code: identical records only
            rows.append(["بی‌تماس", "", "", "", "قم", "", "", ""])
            rows.append([f"تنها {i}", "", "", "", "", "", "", ""])
        if i % 11 == 0:  # rejected: a bad phone; two customers at once
            rows.append(["Bad", "12345", "", "", "", "", "", ""])
            rows.append(["Both", "09350001111", "sara@x.ir", "", "", "", "", ""])
        if i % 13 == 0:
            rows.append(["", "", "", "", "", "", "", ""])
    return write_csv(tmp_path / "people.csv", rows)


@contextmanager
def one_batch_after_another():
    original = CustomerImporter.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.overlapping, self.reserve = False, reserve_ids
        if self.stored is not None:
            self.stored.reserve = None

    with mock.patch.object(CustomerImporter, "__init__", init):
        yield


def run(app, path) -> tuple[dict, list]:
    seed(app)
    summaries = [
        import_customers(app, path, batch_size=4),
        import_customers(app, path, batch_size=5, on_duplicate="update"),
        import_customers(app, path, batch_size=3),
    ]  # once more: nothing changes
    with app.unit_of_work(readonly=True) as uow:
        first_id = min(
            uow.session.scalars(Customer.__table__.select().with_only_columns(Customer.id))
        )
    outcome = [
        (
            s.rows,
            s.blank,
            s.created,
            s.merged,
            s.unchanged,
            s.skipped,
            s.rejected,
            [(r.row, r.field, r.reason.replace(str(first_id), "#")) for r in s.rejections],
            len(s.notes),
            s.possible_duplicates,
        )
        for s in summaries
    ]
    return dump(app), outcome


def test_overlapping_batches_store_what_one_batch_after_another_stores(
    sqlite_only, crm_app_factory, tmp_path
):
    path = sheet(tmp_path)
    with one_batch_after_another():
        app = crm_app_factory(extra_plugins=[("club", Club(), None)])
        expected, expected_outcome = run(app, path)
        app.dispose()
    wipe(crm_app_factory())

    fetched, fallbacks = [], []
    original_fetch, original_lookup = SqliteBatchLookups.fetch, CustomerImporter._lookup

    def counting_fetch(self, *args):
        fetched.append(1)
        return original_fetch(self, *args)

    def counting_lookup(self, prepared, session):
        fallbacks.append(session)
        return original_lookup(self, prepared, session)

    def slow_execute(
        self, how, statement, payload
    ):  # the inserts lag behind: lookups find them queued
        if how != "call":
            time.sleep(0.003)
        return original_execute(self, how, statement, payload)

    original_execute = BackgroundWriter._execute
    with (
        mock.patch.object(SqliteBatchLookups, "fetch", counting_fetch),
        mock.patch.object(CustomerImporter, "_lookup", counting_lookup),
        mock.patch.object(BackgroundWriter, "_execute", slow_execute),
    ):
        app = crm_app_factory(extra_plugins=[("club", Club(), None)])
        got, outcome = run(app, path)
        app.dispose()
    assert len(fetched) > 30 and fallbacks  # both ways of looking up ran on the writer thread
    assert all(
        session is not None and not hasattr(session, "identity_map") for session in fallbacks
    )
    assert outcome == expected_outcome
    first = outcome[0]
    assert first[2] > 40 and first[3] > 10 and first[6] >= 6  # created, merged, rejected
    assert outcome[2][2:5] == (0, 0, first[0] - first[6])  # the third import: every row unchanged
    for table in expected:
        assert got[table] == expected[table], table
