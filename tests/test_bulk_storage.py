"""crmcore.storage.bulk: driver-level inserts and updates store exactly what the ORM would store, on SQLite
(executemany) and PostgreSQL (COPY text written by crmcore itself), for awkward values too."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from crmcore.storage.bulk import _copy_text, insert_rows, insert_with_ids, update_rows
from crmcore.storage.models import AuditEntry, Customer, CustomerPhone, CustomerSearchToken

AWKWARD = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "علی\u200cرضا كريمي",
    "",
    "'quoted' \"x\"",
]


def _customer_row(i: int, name: str, now: datetime) -> dict:
    return {
        "kind": "person",
        "display_name": name,
        "search_key": name[:300],
        "external_id": f"X-{i}",
        "birthday": date(1990, 1, 1) + timedelta(days=i),
        "city": None,
        "address": name,
        "owner": None,
        "consent_sms": i % 2 == 0,
        "consent_email": False,
        "attributes": {"note": name, "n": i, "nested": {"list": [name, None, True]}},
        "created_at": now,
        "updated_at": now,
    }


def test_awkward_values_round_trip(crm_app):
    now = datetime(2026, 3, 20, 20, 30, 15, 123456, tzinfo=timezone.utc)
    rows = [_customer_row(i, name, now) for i, name in enumerate(AWKWARD)]
    with crm_app.unit_of_work() as uow:
        ids = insert_with_ids(uow.session, Customer.__table__, rows)
        insert_rows(
            uow.session,
            AuditEntry.__table__,
            [
                {
                    "at": now,
                    "actor": "bulk\ttest",
                    "action": "create",
                    "entity": "customer",
                    "entity_id": str(cid),
                    "customer_id": cid,
                    "changes": {"name": row["display_name"]},
                }
                for cid, row in zip(ids, rows)
            ],
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = {
            c.id: c for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))
        }
        audit = {
            a.customer_id: a
            for a in uow.session.scalars(select(AuditEntry).where(AuditEntry.customer_id.in_(ids)))
        }
        for cid, row in zip(ids, rows):
            c = stored[cid]
            assert c.display_name == row["display_name"]
            assert c.address == (row["address"])
            assert c.birthday == row["birthday"]
            assert c.consent_sms is row["consent_sms"]
            assert c.attributes == row["attributes"]
            assert c.created_at == now
            assert audit[cid].actor == "bulk\ttest"
            assert audit[cid].changes == {"name": row["display_name"]}


def test_rows_sent_in_index_order_keep_the_ids_of_the_given_order(crm_app):
    now = datetime(2026, 3, 20, tzinfo=timezone.utc)
    names = ["زهرا", "Ali", "مریم", "Babak", "آرش"]  # not sorted
    with crm_app.unit_of_work() as uow:
        rows = [_customer_row(i, name, now) for i, name in enumerate(names)]
        ids = insert_with_ids(uow.session, Customer.__table__, rows, index_order="search_key")
        phones = [
            {"customer_id": cid, "e164": f"+98912000000{9 - i}", "kind": "mobile", "position": 0}
            for i, cid in enumerate(ids)
        ]
        phone_ids = insert_with_ids(
            uow.session, CustomerPhone.__table__, phones, index_order="e164"
        )
        insert_rows(
            uow.session,
            CustomerSearchToken.__table__,
            [{"customer_id": cid, "token": name} for cid, name in zip(ids, names)],
            index_order="token",
        )
    assert ids == sorted(ids) and phone_ids == sorted(phone_ids)
    assert [row["search_key"] for row in rows] == names  # the caller's rows are not reordered
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = dict(
            uow.session.execute(
                select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
            ).all()
        )
        stored_phones = dict(
            uow.session.execute(
                select(CustomerPhone.id, CustomerPhone.customer_id).where(
                    CustomerPhone.id.in_(phone_ids)
                )
            ).all()
        )
        tokens = dict(
            uow.session.execute(
                select(CustomerSearchToken.customer_id, CustomerSearchToken.token).where(
                    CustomerSearchToken.customer_id.in_(ids)
                )
            ).all()
        )
    assert [stored[cid] for cid in ids] == names
    assert [stored_phones[pid] for pid in phone_ids] == ids
    assert [tokens[cid] for cid in ids] == names


def test_update_rows_changes_only_the_given_rows(crm_app):
    now = datetime(2026, 3, 20, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        ids = insert_with_ids(
            uow.session, Customer.__table__, [_customer_row(i, f"c{i}", now) for i in range(3)]
        )
        update_rows(
            uow.session,
            Customer.__table__,
            "id",
            [
                {"id": ids[0], "city": "تهران\tمرکز", "attributes": {"a": 1}},
                {"id": ids[2], "city": None, "attributes": {}},
            ],
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        got = {
            c.id: (c.city, c.attributes)
            for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))
        }
    assert got[ids[0]] == ("تهران\tمرکز", {"a": 1})
    assert got[ids[1]] == (None, {"note": "c1", "n": 1, "nested": {"list": ["c1", None, True]}})
    assert got[ids[2]] == (None, {})


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "\\N"),
        ("a\tb\nc\\d\re", "a\\tb\\nc\\\\d\\re"),
        ("\\N", "\\\\N"),
        (12, "12"),
        (True, "t"),
        (False, "f"),
        (date(2026, 1, 2), "2026-01-02"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "2026-01-02T03:04:05+00:00"),
    ],
)
def test_copy_text_format(value, text):
    assert _copy_text(value) == text


def test_copy_text_refuses_unknown_types():
    with pytest.raises(TypeError):
        _copy_text(1.5)


def _updates(ids: list[int], now: datetime) -> list[dict]:
    return [
        {
            "id": cid,
            "display_name": name,
            "city": None if i % 3 == 0 else f"شهر\t{i}",
            "birthday": None if i % 4 == 0 else date(1360, 1, 1) + timedelta(days=40 * i),
            "consent_sms": i % 2 == 1,
            "attributes": {}
            if i % 5 == 0
            else {"n": i, "name": name, "nested": [None, True, {"x": name}]},
            "updated_at": now + timedelta(seconds=i),
        }
        for i, (cid, name) in enumerate(zip(ids, AWKWARD * 3))
    ]


def _stored(crm_app, ids: list[int]) -> list[tuple]:
    with crm_app.unit_of_work(readonly=True) as uow:
        return [
            (
                c.display_name,
                c.city,
                c.birthday,
                c.consent_sms,
                c.attributes,
                c.updated_at,
                c.external_id,
            )
            for c in uow.session.scalars(
                select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)
            )
        ]


def test_update_rows_in_the_background_stores_what_executemany_stores(
    crm_backend, crm_app, monkeypatch
):
    import crmcore.storage.bulk as bulk
    from crmcore.storage.background import background_inserts

    now = datetime(2026, 3, 20, 20, 30, 15, 123456, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        first = insert_with_ids(
            uow.session, Customer.__table__, [_customer_row(i, f"a{i}", now) for i in range(24)]
        )
        second = insert_with_ids(
            uow.session,
            Customer.__table__,
            [_customer_row(100 + i, f"b{i}", now) for i in range(24)],
        )
    with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
        before = writer.statements
        update_rows(uow.session, Customer.__table__, "id", _updates(first, now))
    through_writer = writer.statements - before  # counted once written, at the end of the block
    monkeypatch.setattr(bulk, "writer_for", lambda connection: None)
    with crm_app.unit_of_work() as uow:
        update_rows(uow.session, Customer.__table__, "id", _updates(second, now))
    assert through_writer == (
        1 if crm_backend == "sqlite" else 0
    )  # one UPDATE … FROM json_each on SQLite
    assert _stored(crm_app, first) == [
        row[:-1] + (f"X-{i}",) for i, row in enumerate(_stored(crm_app, second))
    ]
    assert _stored(crm_app, first)[1][:2] == (AWKWARD[1], "شهر\t1")


def test_update_rows_in_the_background_keeps_executemany_for_repeated_keys_and_huge_integers(
    crm_app,
):
    from crmcore.storage.background import background_inserts

    now = datetime(2026, 3, 20, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        ids = insert_with_ids(
            uow.session, Customer.__table__, [_customer_row(i, f"c{i}", now) for i in range(2)]
        )
    with crm_app.unit_of_work() as uow, background_inserts(uow.session) as writer:
        before = writer.statements
        update_rows(
            uow.session,
            Customer.__table__,
            "id",
            [  # executemany: the later row wins
                {"id": ids[0], "city": "first", "updated_at": now},
                {"id": ids[1], "city": "other", "updated_at": now},
                {"id": ids[0], "city": "second", "updated_at": now},
            ],
        )
    assert writer.statements == before
    assert [row[1] for row in _stored(crm_app, ids)] == ["second", "other"]
    with pytest.raises((OverflowError, DBAPIError)):  # SQLite's driver, PostgreSQL's server
        with crm_app.unit_of_work() as uow, background_inserts(uow.session):
            update_rows(
                uow.session,
                Customer.__table__,
                "id",
                [
                    {"id": ids[0], "city": "x", "updated_at": now},
                    {"id": 2**64, "city": "y", "updated_at": now},
                ],
            )
    assert [row[1] for row in _stored(crm_app, ids)] == ["second", "other"]


def test_an_id_counter_asks_the_table_once_then_counts(crm_backend, crm_app):
    from sqlalchemy import event

    from crmcore.storage.bulk import IdCounter

    now = datetime(2026, 3, 20, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        stored = insert_with_ids(
            uow.session, Customer.__table__, [_customer_row(i, f"c{i}", now) for i in range(3)]
        )
        statements = []
        event.listen(
            uow.session.connection(),
            "before_cursor_execute",
            lambda *args: statements.append(args[2]),
        )
        counter = IdCounter()
        first, second, third = (
            counter(uow.session, Customer.__table__, 2),
            counter(uow.session, Customer.__table__, 0),
            counter(uow.session, Customer.__table__, 3),
        )
        phones = counter(uow.session, CustomerPhone.__table__, 1)
        insert_rows(
            uow.session,
            Customer.__table__,
            [
                {**_customer_row(10 + n, f"n{n}", now), "id": cid}
                for n, cid in enumerate(first + third)
            ],
        )
    assert len(first + third) == len(set(first + third)) == 5 and second == []
    assert min(first + third) > max(stored)
    if crm_backend == "sqlite":  # the maximum once per table, then counted on
        assert first + third == list(range(max(stored) + 1, max(stored) + 6))
        assert phones == [1]
        assert sum("max(" in s for s in statements) == 2
