import csv

import pytest
from sqlalchemy import func, select

from crmcore.api import ValidationError, customer_to_dict
from crmcore.importing import import_customers
from crmcore.storage.models import AuditEntry, Customer, CustomerSearchToken
from crmcore.testing import make_customer, outbox_events

from .conftest import Watcher, write_csv, write_xlsx

PERSIAN = [
    "نام",
    "نام خانوادگی",
    "موبایل",
    "تلفن",
    "ایمیل",
    "شهر",
    "آدرس",
    "تاریخ تولد",
    "برچسب",
    "کد مشتری",
]
ENGLISH = ["Name", "Mobile", "Email", "City", "Birthday", "Tags", "Customer Code"]


def customers(app):
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(
            select(Customer).where(Customer.merged_into_id.is_(None)).order_by(Customer.id)
        )
        return [customer_to_dict(c, with_sections=False) for c in rows]


def phones(c):
    return [p["e164"] for p in c["phones"]]


def test_persian_headers_csv(crm_app, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [
            PERSIAN,
            [
                "علی",
                "کریمی",
                "۰۹۱۲۱۲۳۴۵۶۷",
                "021-8888-8888",
                "Ali@Example.IR",
                "تهران",
                "خیابان ولیعصر",
                "1370/05/12",
                "vip، عمده",
                "C-1",
            ],
            ["مریم", "رضایی", "09351112233", "", "", "شیراز", "", "", "", ""],
        ],
    )
    s = import_customers(crm_app, path)
    assert (s.rows, s.created, s.rejected) == (2, 2, 0)
    ali, maryam = customers(crm_app)
    assert ali["name"] == "علی کریمی" and ali["external_id"] == "C-1"
    assert phones(ali) == ["+989121234567", "+982188888888"]
    assert ali["emails"] == ["ali@example.ir"] and ali["tags"] == ["vip", "عمده"]
    assert (ali["city"], ali["address"], ali["birthday"]) == (
        "تهران",
        "خیابان ولیعصر",
        "1991-08-03",
    )
    assert maryam["name"] == "مریم رضایی" and phones(maryam) == ["+989351112233"]


def test_english_headers_xlsx_with_numeric_phones(crm_app, tmp_path):
    path = write_xlsx(
        tmp_path / "c.xlsx",
        [ENGLISH, ["Sara Ahmadi", 9121110000, "SARA@x.com", "Karaj", "1990-01-02", "vip", 1001]],
    )
    s = import_customers(crm_app, path)
    assert (s.format, s.created) == ("xlsx", 1)
    (sara,) = customers(crm_app)
    assert (
        phones(sara) == ["+989121110000"]
        and sara["emails"] == ["sara@x.com"]
        and sara["external_id"] == "1001"
    )


def test_windows_1256_file(crm_app, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [["نام", "موبایل", "شهر"], ["حسین یزدانی", "09120001122", "یزد"]],
        encoding="cp1256",
    )
    s = import_customers(crm_app, path)
    assert s.encoding == "cp1256"
    (c,) = customers(crm_app)
    assert (c["name"], c["city"]) == (
        "حسین یزدانی",
        "یزد",
    )  # Persian yeh, not the Arabic one cp1256 holds


@pytest.mark.parametrize(
    "cells, field, reason",
    [
        (["", "09121234567", "", "", "", ""], "name", "a name is required"),
        (["Ali", "12345", "", "", "", ""], "phone", "not a valid phone number"),
        (["Ali", "0912abc", "", "", "", ""], "phone", "not a phone number"),
        (["Ali", "", "ali@", "", "", ""], "email", "not a valid email"),
        (["Ali", "", "", "1404/12/30", "", ""], "birthday", "Jalali calendar"),
        (["Ali", "", "", "2023-02-29", "", ""], "birthday", "Gregorian calendar"),
        (["Ali", "", "", "yesterday", "", ""], "birthday", "not a date"),
        (["Ali", "", "", "", "robot", ""], "kind", "not a customer kind"),
        (["Ali", "", "", "", "", "maybe"], "consent_sms", "not yes or no"),
        (["A" * 301, "", "", "", "", ""], "name", "longer than 300"),
        (["Ali", "", "", "", "", "", "extra"], "row", "7 values but the header has 6"),
    ],
)
def test_every_invalid_field_rejects_the_whole_row(
    crm_app, crm_cli, tmp_path, cells, field, reason
):
    header = ["name", "mobile", "email", "birthday", "kind", "sms consent"]
    path = write_csv(tmp_path / "c.csv", [header, ["Good", "09121234567", "", "", "", ""], cells])
    result = crm_cli("customers", "import", str(path), "--errors", str(tmp_path / "err.csv"))
    assert result.exit_code == 1
    assert "rejected" in result.stdout
    with open(tmp_path / "err.csv", encoding="utf-8-sig") as f:
        errors = list(csv.reader(f))
    assert errors[0] == ["row", "field", "reason", *header]
    assert errors[1][:2] == ["3", field] and reason in errors[1][2]
    assert errors[1][3:] == cells
    assert [c["name"] for c in customers(crm_app)] == ["Good"]


def test_unknown_attribute_and_customer_code_conflicts_are_rejected(crm_app, tmp_path):
    a = make_customer(crm_app, "A", phones=["09120000001"], external_id="X-1")
    make_customer(crm_app, "B", emails=["b@x.ir"])
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["name", "mobile", "email", "customer code", "attr.national_id"],
            ["A2", "09120000001", "", "X-2", ""],  # phone of A, but another code
            ["AB", "09120000001", "b@x.ir", "", ""],  # phone of A, email of B
            ["C", "", "", "", "0012345678"],  # attribute no plugin declares
        ],
    )
    s = import_customers(crm_app, path)
    reasons = {r.row: (r.field, r.reason) for r in s.rejections}
    assert reasons[2][0] == "external_id" and f"differs from 'X-1' of customer {a}" in reasons[2][1]
    assert reasons[3][0] == "row" and "matches different customers" in reasons[3][1]
    assert reasons[4][0] == "attributes.national_id" and "unknown attribute" in reasons[4][1]
    assert (s.created, s.merged, s.rejected) == (0, 0, 3)


def test_a_row_linking_two_earlier_rows_is_rejected(crm_app, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["name", "mobile", "email"],
            ["A", "09120000001", ""],
            ["B", "", "b@x.ir"],
            ["AB", "09120000001", "b@x.ir"],
        ],
    )
    s = import_customers(crm_app, path)
    assert s.created == 2 and s.rejected == 1
    assert "row 2 by phone +989120000001; row 3 by email b@x.ir" in s.rejections[0].reason


def test_duplicates_across_formats_become_one_customer(crm_app, tmp_path):
    existing = make_customer(crm_app, "رضا محمدی", phones=["09121112233"], city="تهران")
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["نام", "موبایل", "ایمیل", "شهر", "برچسب", "تاریخ تولد"],
            [
                "رضا محمدي",
                "+98 912 111 2233",
                "Reza@Mail.com",
                "",
                "vip",
                "",
            ],  # existing customer, other format
            [
                "رضا  محمدی",
                "۰۹۱۲۱۱۱۲۲۳۳",
                "",
                "اصفهان",
                "عمده",
                "1365-01-01",
            ],  # again, Persian digits, another city
            ["Kaveh", "0098 935 000 1111", "", "", "", ""],
            ["کاوه", "09350001111", "KAVEH@x.ir", "", "", ""],  # same phone: adds the email
            ["Kaveh K.", "", "kaveh@X.IR", "", "", ""],  # same email, nothing new
        ],
    )
    s = import_customers(crm_app, path)
    rows = customers(crm_app)
    assert len(rows) == 2, rows
    reza = next(c for c in rows if c["id"] == existing)
    assert reza["name"] == "رضا محمدی"  # never overwritten by a merge
    assert reza["emails"] == ["reza@mail.com"] and reza["tags"] == ["vip", "عمده"]
    assert (
        reza["city"] == "تهران" and reza["birthday"] == "1986-03-21"
    )  # empty birthday filled, city kept
    assert any("city اصفهان differs from تهران" in n for n in s.notes)
    kaveh = next(c for c in rows if c["name"] == "Kaveh")
    assert phones(kaveh) == ["+989350001111"] and kaveh["emails"] == ["kaveh@x.ir"]
    assert (s.created, s.merged, s.unchanged, s.rejected) == (1, 3, 1, 0)


def test_reimporting_the_same_file_changes_nothing(crm_app, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["name", "mobile", "email", "city", "tags"],
            ["Ali", "09121234567", "ali@x.ir", "Tehran", "vip"],
            ["Ali R", "+989121234567", "", "Karaj", "new"],
            ["Names Only", "", "", "Rasht", ""],
            ["Names Only", "", "", "Rasht", ""],
        ],
    )
    first = import_customers(crm_app, path)
    assert (first.created, first.merged, first.unchanged) == (2, 1, 1)
    before = (customers(crm_app), len(outbox_events(crm_app)))
    again = import_customers(crm_app, path)
    assert (again.created, again.merged, again.unchanged, again.rejected) == (0, 0, 4, 0)
    assert (customers(crm_app), len(outbox_events(crm_app))) == before


def test_on_duplicate_skip_and_update(crm_app, tmp_path):
    cid = make_customer(crm_app, "Old Name", phones=["09121234567"], city="Tehran")
    path = write_csv(
        tmp_path / "c.csv",
        [["name", "mobile", "city", "tags"], ["New Name", "09121234567", "Karaj", "x"]],
    )
    s = import_customers(crm_app, path, on_duplicate="skip")
    assert (s.skipped, s.merged) == (1, 0)
    assert customers(crm_app)[0]["name"] == "Old Name"
    s = import_customers(crm_app, path, on_duplicate="update")
    c = customers(crm_app)[0]
    assert (s.merged, c["id"], c["name"], c["city"], c["tags"]) == (
        1,
        cid,
        "New Name",
        "Karaj",
        ["x"],
    )
    update = outbox_events(crm_app, "crm_customer_updated")[-1]["payload"]["changes"]
    assert update["city"] == ["Tehran", "Karaj"]
    with pytest.raises(ValidationError, match="not one of merge, skip, update"):
        import_customers(crm_app, path, on_duplicate="replace")


def test_name_alone_never_merges_but_is_reported(crm_app, tmp_path):
    make_customer(crm_app, "سارا احمدی", phones=["09120000001"], city="کرج")
    path = write_csv(
        tmp_path / "c.csv", [["نام", "موبایل", "شهر"], ["سارا احمدي", "09120000002", "کرج"]]
    )
    s = import_customers(crm_app, path)
    assert s.created == 1 and len(customers(crm_app)) == 2
    assert s.possible_duplicates == 1 and s.duplicates[0]["match"] == "name_city"


def test_dry_run_stores_nothing_but_counts_everything(crm_app, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["name", "mobile"], ["Ali", "09121234567"], ["Bad", "1"]])
    s = import_customers(crm_app, path, dry_run=True)
    assert (s.dry_run, s.created, s.rejected) == (True, 1, 1)
    assert customers(crm_app) == [] and outbox_events(crm_app) == []


def test_hand_mapping_and_first_last_names(crm_app, tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["Given", "Family", "Cell", "Ref", "Colour"],
            ["Nima", "Yazdani", "09121234567", "N-1", "blue"],
        ],
    )
    s = import_customers(
        crm_app,
        path,
        mapping=["Given=first_name", "Family=last_name", "Cell=phone", "Ref=external_id"],
    )
    assert s.ignored_columns == ["Colour"]
    (c,) = customers(crm_app)
    assert (c["name"], c["external_id"]) == ("Nima Yazdani", "N-1")
    nameless = write_csv(tmp_path / "n.csv", [["Given", "Cell"], ["Nima", "09121234567"]])
    with pytest.raises(ValidationError, match="no name column among Given, Cell"):
        import_customers(crm_app, nameless)


def test_bulk_path_stores_what_add_customer_stores(crm_app_factory, tmp_path):
    """The fast path (no plugin hooks) and the kernel's add_customer must leave the same rows and events."""
    results = []
    for n, watcher in enumerate((None, Watcher(), "add_customer")):
        row = ["علی‌رضا کریمی", f"0912123456{n}", f"a{n}@x.ir", "vip", "تهران", "1370-05-12"]
        path = write_csv(
            tmp_path / f"c{n}.csv", [["name", "mobile", "email", "tags", "city", "birthday"], row]
        )
        app = crm_app_factory(
            extra_plugins=[("watcher", watcher, None)] if isinstance(watcher, Watcher) else []
        )
        if watcher == "add_customer":
            make_customer(
                app,
                row[0],
                phones=[row[1]],
                emails=[row[2]],
                tags=[row[3]],
                city=row[4],
                birthday=row[5],
            )
        else:
            import_customers(app, path)
        with app.unit_of_work(readonly=True) as uow:
            c = uow.session.scalars(select(Customer).order_by(Customer.id.desc())).first()
            tokens = sorted(
                uow.session.scalars(
                    select(CustomerSearchToken.token).where(CustomerSearchToken.customer_id == c.id)
                )
            )
            audit = [
                (a.action, a.changes)
                for a in uow.session.scalars(
                    select(AuditEntry).where(AuditEntry.customer_id == c.id)
                )
            ]
            data = customer_to_dict(c, with_sections=False)
        cid = data.pop("id")
        data.pop("created_at")
        assert data.pop("phones") == [{"e164": f"+98912123456{n}", "kind": "mobile"}]
        assert data.pop("emails") == [f"a{n}@x.ir"]
        event = outbox_events(app, "crm_customer_created", customer_id=cid)
        results.append(
            (data, tokens, audit, [e["payload"] for e in event] and [event[0]["payload"]["name"]])
        )
        assert event[0]["payload"] == {"customer_id": cid, "name": "علی‌رضا کریمی"}
        if isinstance(watcher, Watcher):
            assert watcher.created == [cid]
    assert results[0] == results[1] == results[2]


def test_a_plugin_refusing_a_customer_rejects_its_rows(watcher_app, tmp_path):
    watcher = Watcher(refuse_name="Mallory")
    app = watcher_app(watcher)
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["name", "mobile"],
            ["Alice", "09120000001"],
            ["Mallory", "09120000002"],
            ["Mallory", "+989120000002"],
        ],
    )
    s = import_customers(app, path)
    assert (s.created, s.rejected) == (1, 2)
    assert {r.row for r in s.rejections} == {3, 4} and "watcher refuses Mallory" in s.rejections[
        0
    ].reason
    assert [c["name"] for c in customers(app)] == ["Alice"] and len(watcher.created) == 1


def test_cli_json_summary_and_exit_codes(crm_app, crm_cli, tmp_path):
    good = write_csv(tmp_path / "good.csv", [["name", "mobile"], ["Ali", "09121234567"]])
    result = crm_cli("customers", "import", str(good), "--json")
    assert result.exit_code == 0 and result.json()["created"] == 1
    missing = crm_cli("customers", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Customer)) == 1
