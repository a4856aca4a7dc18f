import pytest
from sqlalchemy import func, select

from crmcore.api import (
    Conflict,
    NotFound,
    ValidationError,
    add_customer,
    find_customers,
    forget_customer,
    get_customer,
    merge_customers,
    update_customer,
)
from crmcore.storage.models import AuditEntry, Customer, Interaction
from crmcore.testing import make_customer, outbox_events, record_purchase


def count(app, model):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_add_normalises_phones_emails_tags_and_keeps_name_as_typed(crm_app):
    with crm_app.unit_of_work() as uow:
        c = add_customer(
            uow,
            name="  علی‌رضا   كريمي ",
            phones=["۰۹۱۲۱۲۳۴۵۶۷", "0098 21 8888 8888", "+989121234567"],
            emails=["Ali@Example.IR"],
            tags=["VIP", "vip"],
            birthday="1370/05/12",
            external_id="C-1",
        )
        cid = c.id
    with crm_app.unit_of_work(readonly=True) as uow:
        c = get_customer(uow.session, cid)
        assert c.display_name == "علی‌رضا كريمي"
        assert [p.e164 for p in c.phones] == ["+989121234567", "+982188888888"]
        assert [p.kind for p in c.phones] == ["mobile", "landline"]
        assert [e.email for e in c.emails] == ["ali@example.ir"]
        assert [t.tag for t in c.tags] == ["vip"]
        assert c.birthday.isoformat() == "1991-08-03"
        assert c.search_key == "علی رضا کریمی"


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        ({"name": ""}, "name", "required"),
        ({"phones": ["12345"]}, "phone", "not a valid phone"),
        ({"phones": ["0912abc"]}, "phone", "not a phone number"),
        ({"emails": ["ali@"]}, "email", "not a valid email"),
        ({"birthday": "1404/12/30"}, "birthday", "Jalali calendar"),
        ({"birthday": "2023-02-29"}, "birthday", "Gregorian calendar"),
        ({"kind": "robot"}, "kind", "not a customer kind"),
        ({"attributes": {"national_id": "1"}}, "attributes.national_id", "unknown attribute"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_stored(crm_app, fields, field, reason):
    fields = {"name": "سارا", **fields}
    with pytest.raises(ValidationError) as err:
        with crm_app.unit_of_work() as uow:
            add_customer(uow, **fields)
    assert err.value.field == field
    assert reason in str(err.value)
    assert count(crm_app, Customer) == 0
    assert outbox_events(crm_app) == []


def test_duplicate_external_id_is_a_conflict_and_rolls_back(crm_app):
    make_customer(crm_app, "A", external_id="X1")
    with pytest.raises(Conflict, match="already belongs to customer 1"):
        with crm_app.unit_of_work() as uow:
            add_customer(uow, name="B", phones=["09120000001"])
            add_customer(uow, name="C", external_id="X1")
    assert count(crm_app, Customer) == 1  # B was rolled back with C


def test_create_writes_audit_and_outbox_in_the_same_transaction(crm_app):
    cid = make_customer(crm_app, "مریم", phones=["09121112233"])
    events = outbox_events(crm_app)
    assert [e["event"] for e in events] == ["crm_customer_created"]
    assert events[0]["customer_id"] == cid
    with crm_app.unit_of_work(readonly=True) as uow:
        audit = uow.session.scalars(select(AuditEntry)).all()
        assert [(a.action, a.entity, a.entity_id) for a in audit] == [
            ("create", "customer", str(cid))
        ]


def test_update_records_changes_and_validates(crm_app):
    cid = make_customer(crm_app, "رضا", phones=["09121112233"])
    with crm_app.unit_of_work() as uow:
        update_customer(
            uow,
            cid,
            name="رضا محمدی",
            add_phones=["+98 935 111 2233"],
            add_tags=["عمده"],
            city="تهران",
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        c = get_customer(uow.session, cid)
        assert [p.e164 for p in c.phones] == ["+989121112233", "+989351112233"]
        assert c.city == "تهران" and [t.tag for t in c.tags] == ["عمده"]
        assert find_customers(uow, "محمدی")[0].customer.id == cid
    event = outbox_events(crm_app, "crm_customer_updated")[0]
    assert event["payload"]["changes"]["display_name"] == ["رضا", "رضا محمدی"]
    with pytest.raises(NotFound):
        with crm_app.unit_of_work() as uow:
            update_customer(uow, 999, name="x")


def test_merge_moves_contacts_and_interactions_and_leaves_a_tombstone(crm_app):
    a = make_customer(crm_app, "سارا احمدی", phones=["09121110000"], tags=["vip"])
    b = make_customer(
        crm_app,
        "سارا احمدي",
        phones=["09351110000"],
        emails=["sara@x.ir"],
        city="شیراز",
        external_id="OLD-7",
    )
    record_purchase(crm_app, b, 1_000_000)
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, a, b)
    with crm_app.unit_of_work(readonly=True) as uow:
        kept = get_customer(uow.session, b)  # the old id leads to the survivor
        assert kept.id == a
        assert {p.e164 for p in kept.phones} == {"+989121110000", "+989351110000"}
        assert [e.email for e in kept.emails] == ["sara@x.ir"]
        assert kept.city == "شیراز" and kept.external_id == "OLD-7"
        assert uow.session.scalar(select(func.count()).where(Interaction.customer_id == a)) == 1
        assert [m.customer.id for m in find_customers(uow, "سارا")] == [a]
    with pytest.raises(Conflict, match="already merged"):
        with crm_app.unit_of_work() as uow:
            merge_customers(uow, a, b)
    with pytest.raises(ValidationError, match="itself"):
        with crm_app.unit_of_work() as uow:
            merge_customers(uow, a, a)


def test_forget_erases_personal_data_but_keeps_aggregates(crm_app):
    cid = make_customer(
        crm_app,
        "نازنین کاظمی",
        phones=["09127778899"],
        emails=["n@x.ir"],
        birthday="1375-01-01",
        city="رشت",
        external_id="N-1",
    )
    record_purchase(crm_app, cid, 500_000, payload={"note": "تحویل به نازنین"})
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, cid)
    with crm_app.unit_of_work(readonly=True) as uow:
        c = uow.session.get(Customer, cid)
        assert c.display_name == f"forgotten customer #{cid}"
        assert (c.phones, c.emails, c.birthday, c.city, c.external_id) == ([], [], None, None, None)
        assert find_customers(uow, "نازنین") == []
        assert find_customers(uow, "09127778899") == []
        i = uow.session.scalars(select(Interaction)).one()
        assert (i.amount_minor, i.kind, i.payload) == (500_000, "purchase", {})
        for a in uow.session.scalars(select(AuditEntry).where(AuditEntry.customer_id == cid)):
            assert "نازنین" not in str(a.changes)
    assert all("نازنین" not in str(e["payload"]) for e in outbox_events(crm_app))
    with pytest.raises(NotFound, match="forgotten"):
        with crm_app.unit_of_work() as uow:
            get_customer(uow.session, cid)


def test_settings_are_stored_per_namespace_and_audited(crm_app):
    from crmcore.api import get_setting, set_setting, settings_of

    with crm_app.unit_of_work() as uow:
        assert get_setting(uow, "loyalty", "spend_order", "oldest") == "oldest"
        set_setting(uow, "loyalty", "spend_order", "soonest_expiring")
        set_setting(uow, "loyalty", "spend_order", "oldest")
        set_setting(uow, "voip", "area_code", "021")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert settings_of(uow, "loyalty") == {"spend_order": "oldest"}
        audit = uow.session.scalars(select(AuditEntry).where(AuditEntry.entity == "setting")).all()
        assert [a.changes["new"] for a in audit] == ["soonest_expiring", "oldest", "021"]
