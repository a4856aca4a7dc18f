"""crmcore.storage.bulk: driver-level inserts and updates store exactly what the ORM would store, on SQLite
(executemany) and PostgreSQL (COPY text written by crmcore itself), for awkward values too."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crmcore.storage.bulk import _copy_text, insert_rows, insert_with_ids, update_rows
from crmcore.storage.models import AuditEntry, Customer, CustomerPhone, CustomerSearchToken

AWKWARD = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "علی\u200cرضا كريمي", "", "'quoted' \"x\""]


def _customer_row(i: int, name: str, now: datetime) -> dict:
    return {"kind": "person", "display_name": name, "search_key": name[:300], "external_id": f"X-{i}",
            "birthday": date(1990, 1, 1) + timedelta(days=i), "city": None, "address": name, "owner": None,
            "consent_sms": i % 2 == 0, "consent_email": False,
            "attributes": {"note": name, "n": i, "nested": {"list": [name, None, True]}},
            "created_at": now, "updated_at": now}


def test_awkward_values_round_trip(crm_app):
    now = datetime(2026, 3, 20, 20, 30, 15, 123456, tzinfo=timezone.utc)
    rows = [_customer_row(i, name, now) for i, name in enumerate(AWKWARD)]
    with crm_app.unit_of_work() as uow:
        ids = insert_with_ids(uow.session, Customer.__table__, rows)
        insert_rows(uow.session, AuditEntry.__table__, [
            {"at": now, "actor": "bulk\ttest", "action": "create", "entity": "customer", "entity_id": str(cid),
             "customer_id": cid, "changes": {"name": row["display_name"]}} for cid, row in zip(ids, rows)])
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = {c.id: c for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
        audit = {a.customer_id: a for a in uow.session.scalars(select(AuditEntry).where(AuditEntry.customer_id.in_(ids)))}
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
        phones = [{"customer_id": cid, "e164": f"+98912000000{9 - i}", "kind": "mobile", "position": 0}
                  for i, cid in enumerate(ids)]
        phone_ids = insert_with_ids(uow.session, CustomerPhone.__table__, phones, index_order="e164")
        insert_rows(uow.session, CustomerSearchToken.__table__,
                    [{"customer_id": cid, "token": name} for cid, name in zip(ids, names)], index_order="token")
    assert ids == sorted(ids) and phone_ids == sorted(phone_ids)
    assert [row["search_key"] for row in rows] == names  # the caller's rows are not reordered
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = dict(uow.session.execute(select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))).all())
        stored_phones = dict(uow.session.execute(select(CustomerPhone.id, CustomerPhone.customer_id)
                                                 .where(CustomerPhone.id.in_(phone_ids))).all())
        tokens = dict(uow.session.execute(select(CustomerSearchToken.customer_id, CustomerSearchToken.token)
                                          .where(CustomerSearchToken.customer_id.in_(ids))).all())
    assert [stored[cid] for cid in ids] == names
    assert [stored_phones[pid] for pid in phone_ids] == ids
    assert [tokens[cid] for cid in ids] == names


def test_update_rows_changes_only_the_given_rows(crm_app):
    now = datetime(2026, 3, 20, tzinfo=timezone.utc)
    with crm_app.unit_of_work() as uow:
        ids = insert_with_ids(uow.session, Customer.__table__, [_customer_row(i, f"c{i}", now) for i in range(3)])
        update_rows(uow.session, Customer.__table__, "id", [
            {"id": ids[0], "city": "تهران\tمرکز", "attributes": {"a": 1}},
            {"id": ids[2], "city": None, "attributes": {}}])
    with crm_app.unit_of_work(readonly=True) as uow:
        got = {c.id: (c.city, c.attributes) for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    assert got[ids[0]] == ("تهران\tمرکز", {"a": 1})
    assert got[ids[1]] == (None, {"note": "c1", "n": 1, "nested": {"list": ["c1", None, True]}})
    assert got[ids[2]] == (None, {})


@pytest.mark.parametrize("value, text", [
    (None, "\\N"), ("a\tb\nc\\d\re", "a\\tb\\nc\\\\d\\re"), ("\\N", "\\\\N"), (12, "12"), (True, "t"),
    (False, "f"), (date(2026, 1, 2), "2026-01-02"),
    (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "2026-01-02T03:04:05+00:00"),
])
def test_copy_text_format(value, text):
    assert _copy_text(value) == text


def test_copy_text_refuses_unknown_types():
    with pytest.raises(TypeError):
        _copy_text(1.5)
