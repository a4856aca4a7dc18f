"""Forgetting a customer leaves none of their personal data: not in the rows of duplicates merged
into them, not in the audit log or the outbox, and (SQLite) not in the bytes of the database file or
its -wal."""

from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine, make_url

from crmcore.api import forget_customer, merge_customers
from crmcore.storage.models import AuditEntry, Customer, OutboxEvent
from crmcore.testing import make_customer, record_purchase

PERSON = {
    "name": "نازنین کاظمی",
    "phones": ["09127778899"],
    "emails": ["nazanin.k@example.ir"],
    "city": "رشت",
    "external_id": "N-1",
}
DUPLICATE = {
    "name": "Nazy Kazemiyan",
    "phones": ["09351112233"],
    "emails": ["nazy.k@example.com"],
    "address": "Rasht, Golsar, Street 118",
}
ERASED = [
    "نازنین",
    "کاظمی",
    "9127778899",
    "nazanin.k@example.ir",
    "Nazy Kazemiyan",
    "9351112233",
    "nazy.k@example.com",
    "Golsar",
    "N-1",
]


def merged_person(app) -> tuple[int, int]:
    person = make_customer(app, **PERSON)
    duplicate = make_customer(app, **DUPLICATE)
    record_purchase(app, duplicate, 250_000, payload={"note": "for Nazy Kazemiyan"})
    with app.unit_of_work() as uow:
        merge_customers(uow, person, duplicate)
    return person, duplicate


def forget(app, customer_id: int) -> None:
    with app.unit_of_work() as uow:
        forget_customer(uow, customer_id)


def texts(app):
    with app.unit_of_work(readonly=True) as uow:
        s = uow.session
        for c in s.scalars(select(Customer)):
            yield (
                f"customer {c.id}",
                repr(
                    [
                        c.display_name,
                        c.search_key,
                        c.external_id,
                        c.city,
                        c.address,
                        c.owner,
                        c.birthday,
                        c.attributes,
                    ]
                ),
            )
        for a in s.scalars(select(AuditEntry)):
            yield f"audit {a.id} {a.action}", repr([a.entity_id, a.changes])
        for o in s.scalars(select(OutboxEvent)):
            yield f"outbox {o.id} {o.event}", repr(o.payload)


def test_forget_scrubs_merged_duplicates_audit_entries_and_outbox_payloads(crm_app):
    person, duplicate = merged_person(crm_app)
    forget(crm_app, person)
    found = [(where, value) for where, text in texts(crm_app) for value in ERASED if value in text]
    assert found == []
    with crm_app.unit_of_work(readonly=True) as uow:
        tomb = uow.session.get(Customer, duplicate)
        assert (
            tomb.merged_into_id == person
            and tomb.display_name == f"forgotten customer #{duplicate}"
        )
        # what is not personal stays: the audit trail says what happened, the outbox which events
        actions = uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions.count("create") == 2 and "merge" in actions and actions[-1] == "forget"


def raw_bytes(url: str) -> bytes:
    path = Path(make_url(url).database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def default_sqlite_build():
    """Connections start with ``secure_delete`` off, as SQLite's default build has it (Debian's has
    it on)."""

    def off(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    event.listen(Engine, "connect", off)
    yield
    event.remove(Engine, "connect", off)


def test_no_copy_of_the_erased_data_remains_in_the_sqlite_file_or_its_wal(
    crm_backend, crm_app_factory, default_sqlite_build
):
    if crm_backend != "sqlite":
        pytest.skip("PostgreSQL keeps old row versions until VACUUM (docs/operations.md)")
    app = crm_app_factory()
    with app.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    person, _duplicate = merged_person(app)
    assert all(v.encode() in raw_bytes(app.url) for v in ERASED)  # the search below can see them
    forget(app, person)
    data = raw_bytes(app.url)
    assert [v for v in ERASED if v.encode() in data] == []
