import csv

import pytest
from sqlalchemy import delete, func, select

from crmcore.api import customer_to_dict
from crmcore.importing import (
    export_customers,
    find_duplicates,
    import_customers,
    merge_certain_duplicates,
)
from crmcore.storage.models import Customer, CustomerSearchToken, Interaction, Setting
from crmcore.testing import make_customer, outbox_events, record_purchase

from .conftest import Watcher


def active(app):
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(
            select(Customer).where(Customer.merged_into_id.is_(None)).order_by(Customer.id)
        )
        out = []
        for c in rows:
            d = customer_to_dict(c, with_sections=False)
            for k in ("id", "created_at"):
                d.pop(k)
            out.append(d)
        return out


def seed(app):
    make_customer(
        app,
        "علی‌رضا کریمی",
        phones=["09121234567", "02188888888"],
        emails=["ali@x.ir"],
        tags=["vip", "عمده"],
        external_id="C-1",
        birthday="1370-05-12",
        city="تهران",
        address="ونک، کوچه ۳",
        consent_sms=True,
    )
    make_customer(app, "Acme Trading", kind="organisation", emails=["info@acme.com"], owner="sara")
    make_customer(app, "فقط نام")


@pytest.mark.parametrize(
    "suffix, persian, calendar",
    [
        ("csv", False, "gregorian"),
        ("csv", True, "jalali"),
        ("xlsx", True, "gregorian"),
        ("xlsx", False, "jalali"),
    ],
)
def test_export_round_trips_with_import(crm_app_factory, tmp_path, suffix, persian, calendar):
    app = crm_app_factory()
    seed(app)
    path = tmp_path / f"out.{suffix}"
    with app.unit_of_work(readonly=True) as uow:
        assert export_customers(uow, path, persian=persian, calendar=calendar) == 3
    before = active(app)
    events = len(outbox_events(app))
    again = import_customers(app, path)  # into the same database: nothing changes
    assert (again.created, again.merged, again.unchanged, again.rejected) == (0, 0, 3, 0)
    assert active(app) == before and len(outbox_events(app)) == events
    with app.unit_of_work() as uow:  # empty the database: the import gives the same customers back
        uow.session.execute(delete(CustomerSearchToken))
        for c in uow.session.scalars(select(Customer)):
            uow.session.delete(c)
    assert active(app) == []
    result = import_customers(app, path)
    assert result.created == 3 and active(app) == before


def test_persian_headers_and_values_in_the_file(crm_app, tmp_path):
    seed(crm_app)
    path = tmp_path / "fa.csv"
    with crm_app.unit_of_work(readonly=True) as uow:
        export_customers(uow, path, persian=True, calendar="jalali")
    with open(path, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:4] == ["کد مشتری", "نام و نام خانوادگی", "نوع", "تلفن"]
    assert (
        rows[0]["تلفن"] == "+989121234567; +982188888888" and rows[0]["تاریخ تولد"] == "1370-05-12"
    )
    assert rows[0]["رضایت پیامک"] == "بله" and rows[1]["نوع"] == "حقوقی"


def test_export_cli_with_where_and_encoding(crm_app, crm_cli, tmp_path):
    seed(crm_app)
    out = tmp_path / "vip.csv"
    result = crm_cli("customers", "export", str(out), "--where", "tag=vip", "--json")
    assert result.exit_code == 0 and result.json() == {"file": str(out), "customers": 1}
    bad = crm_cli("customers", "export", str(tmp_path / "x.csv"), "--encoding", "ascii")
    assert bad.exit_code == 1 and "cannot be written in ascii" in bad.stderr
    assert crm_cli("customers", "export", str(tmp_path / "x.pdf")).exit_code == 1


def test_duplicates_lists_certain_and_possible_groups(crm_app, crm_cli):
    a = make_customer(crm_app, "سارا احمدی", phones=["09120000001"], city="کرج")
    b = make_customer(
        crm_app, "Sara A.", phones=["09120000001"]
    )  # forced in by the API: same phone
    c = make_customer(crm_app, "سارا احمدي", city="کرج")  # same name (Arabic yeh), same city
    d = make_customer(crm_app, "سارا  احمدی", birthday="1370-01-01")  # same name, other city
    make_customer(crm_app, "سارااحمدی", birthday="1370-01-01")  # spacing differs: same name
    groups = find_duplicates_json(crm_cli)
    by_match = {(g["match"], g["certain"]): [x["id"] for x in g["customers"]] for g in groups}
    assert by_match[("phone", True)] == [a, b]
    assert by_match[("name_city", False)] == [a, c]
    assert by_match[("name_birthday", False)] == [d, d + 1]
    text = crm_cli("customers", "duplicates")
    assert (
        "certain — same phone: +989120000001" in text.stdout
        and "possible — same name and city" in text.stdout
    )


def find_duplicates_json(crm_cli):
    result = crm_cli("customers", "duplicates", "--json")
    assert result.exit_code == 0
    return result.json()


def test_merging_moves_interactions_and_plugin_data_and_leaves_names_alone(watcher_app):
    watcher = Watcher()
    app = watcher_app(watcher)
    a = make_customer(app, "Nima", phones=["09120000001"])
    b = make_customer(app, "Nima Y.", phones=["09350000002"], emails=["n@x.ir"])
    c = make_customer(app, "N. Yazdani", emails=["N@X.IR"], phones=["09120000001"])  # links a and b
    lone = make_customer(app, "Nima", city="Rasht")  # name only: stays
    record_purchase(app, b, 100)
    with app.unit_of_work() as uow:  # "plugin data" of the watcher: a row per customer
        for cid in (a, b, c):
            uow.session.add(
                Setting(namespace="watcher", key=f"row-{cid}", value={"customer_id": cid})
            )
    with app.unit_of_work() as uow:
        merged = merge_certain_duplicates(uow)
    assert merged == [{"kept": a, "merged": [b, c]}]
    assert sorted(watcher.merged) == [(a, b), (a, c)]
    with app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).where(Interaction.customer_id == a)) == 1
        values = [
            s.value["customer_id"]
            for s in uow.session.scalars(select(Setting).where(Setting.namespace == "watcher"))
        ]
        assert values == [a, a, a]
        kept = uow.session.get(Customer, a)
        assert {p.e164 for p in kept.phones} == {"+989120000001", "+989350000002"}
        assert uow.session.get(Customer, lone).merged_into_id is None
    with app.unit_of_work(readonly=True) as uow:
        assert [
            g["match"] for g in find_duplicates(uow)
        ] == []  # "Nima" twice, but no shared city/birthday


def test_duplicates_merge_cli(crm_app, crm_cli):
    a = make_customer(crm_app, "A", emails=["a@x.ir"])
    b = make_customer(crm_app, "A2", emails=["a@x.ir"])
    result = crm_cli("customers", "duplicates", "--merge", "--json")
    assert result.exit_code == 0 and result.json() == {"merged": [{"kept": a, "merged": [b]}]}
    assert crm_cli("customers", "duplicates").stdout.strip() == "no probable duplicates"
