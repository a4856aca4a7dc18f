from datetime import date

import pytest
from sqlalchemy import func, select

from crmcore.api import ValidationError, interaction_to_dict, to_local
from crmcore.importing import import_interactions
from crmcore.storage.models import Customer, Interaction
from crmcore.testing import make_customer, outbox_events, record_purchase

from .conftest import Watcher, write_csv, write_xlsx


def stored(app):
    with app.unit_of_work(readonly=True) as uow:
        return [
            interaction_to_dict(i)
            for i in uow.session.scalars(select(Interaction).order_by(Interaction.id))
        ]


def test_persian_history_with_jalali_dates_toman_and_payload(crm_app, tmp_path):
    cid = make_customer(crm_app, "مریم", phones=["09121234567"], external_id="M-1")
    path = write_csv(
        tmp_path / "h.csv",
        [
            ["مشتری", "نوع", "تاریخ", "مبلغ", "واحد", "کانال", "شماره فاکتور", "شعبه"],
            ["M-1", "purchase", "1403-07-15 14:30", "۱۲۵٬۰۰۰", "toman", "store", "F-1", "ونک"],
            ["۰۹۱۲۱۲۳۴۵۶۷", "visit", "1403/07/16", "", "", "", "", "ونک"],
        ],
    )
    s = import_interactions(crm_app, path)
    assert (s.rows, s.recorded, s.rejected) == (2, 2, 0)
    buy, visit = stored(crm_app)
    assert buy["customer_id"] == visit["customer_id"] == cid
    assert (buy["kind"], buy["amount"], buy["currency"], buy["channel"], buy["external_id"]) == (
        "purchase",
        "1250000",
        "IRR",
        "store",
        "F-1",
    )
    assert to_local(Interaction_at(buy)).strftime("%Y-%m-%d %H:%M") == "2024-10-06 14:30"
    assert buy["payload"] == {"شعبه": "ونک"}
    events = outbox_events(crm_app, "crm_interaction_recorded")
    assert [e["payload"] for e in events] == [
        buy,
        visit,
    ]  # the same payload as `crm interactions record`


def Interaction_at(d):
    from datetime import datetime

    return datetime.fromisoformat(d["occurred_at"])


@pytest.mark.parametrize(
    "cells, field, reason",
    [
        (["", "purchase", "2024-01-01", "10"], "customer", "customer is missing"),
        (["C-1", "purchase", "", "10"], "occurred_at", "date is missing"),
        (["C-1", "purchase", "2024-02-30", "10"], "occurred_at", "Gregorian calendar"),
        (["C-1", "purchase", "2024-01-01", "ten"], "amount", "not an amount"),
        (["C-1", "purchase", "2024-01-01", ""], "amount", "needs an amount"),
        (["C-1", "purchase", "2024-01-01", "-5"], "amount", "positive"),
        (["C-1", "teleport", "2024-01-01", ""], "kind", "unknown interaction kind"),
        (
            ["NOPE", "purchase", "2024-01-01", "10"],
            "customer",
            "no customer has the code, phone or email 'NOPE'",
        ),
        (["C-1", "purchase", "2024-01-01", "10", "x"], "row", "5 values but the header has 4"),
    ],
)
def test_every_rejection_reason(crm_app, crm_cli, tmp_path, cells, field, reason):
    make_customer(crm_app, "A", external_id="C-1")
    path = write_csv(
        tmp_path / "h.csv",
        [["customer", "kind", "date", "amount"], ["C-1", "purchase", "2024-01-01", "5"], cells],
    )
    result = crm_cli("interactions", "import", str(path), "--json")
    assert result.exit_code == 1
    data = result.json()
    assert (data["recorded"], data["rejected"]) == (1, 1)
    assert data["rejections"][0]["row"] == 3 and data["rejections"][0]["field"] == field
    assert reason in data["rejections"][0]["reason"]
    assert len(stored(crm_app)) == 1


def test_external_ids_repeated_in_the_file_or_unknown_currency(crm_app, tmp_path):
    make_customer(crm_app, "A", external_id="C-1")
    path = write_csv(
        tmp_path / "h.csv",
        [
            ["customer", "kind", "date", "amount", "currency", "order id"],
            ["C-1", "purchase", "2024-01-01", "5", "USD", "O-1"],
            ["C-1", "purchase", "2024-01-02", "5", "USD", "O-1"],
            ["C-1", "purchase", "2024-01-03", "5", "XYZ", "O-2"],
        ],
    )
    s = import_interactions(crm_app, path)
    assert s.recorded == 1
    assert {(r.row, r.field) for r in s.rejections} == {(3, "external_id"), (4, "currency")}


def test_customers_found_by_phone_and_email_or_created(crm_app, tmp_path):
    a = make_customer(crm_app, "A", phones=["09121234567"], emails=["a@x.ir"])
    path = write_xlsx(
        tmp_path / "h.xlsx",
        [
            ["customer", "name", "date", "amount"],
            ["+98 912 123 4567", "", "2024-01-01", 10],
            ["A@X.IR", "", "2024-01-02", 20],
            ["09350000000", "نیما", "2024-01-03", 30],
            ["new@x.ir", "", "2024-01-04", 40],
            ["K-9", "کیان", "2024-01-05", 50],
        ],
    )
    with pytest.raises(ValidationError, match="no kind column"):
        import_interactions(crm_app, path)
    s = import_interactions(crm_app, path, kind="purchase", create_customers=True)
    assert (s.recorded, s.customers_created, s.rejected) == (5, 3, 0)
    with crm_app.unit_of_work(readonly=True) as uow:
        made = {
            c.display_name: c for c in uow.session.scalars(select(Customer).where(Customer.id != a))
        }
        assert [p.e164 for p in made["نیما"].phones] == ["+989350000000"]
        assert [e.email for e in made["new@x.ir"].emails] == ["new@x.ir"]
        assert made["کیان"].external_id == "K-9"
    assert [i["customer_id"] for i in stored(crm_app)][:2] == [a, a]


def test_events_come_in_time_order_per_customer_even_from_an_unsorted_file(watcher_app, tmp_path):
    watcher = Watcher()
    app = watcher_app(watcher)
    a = make_customer(app, "A", external_id="A")
    b = make_customer(app, "B", external_id="B")
    rows = [["customer", "kind", "date", "amount"]]
    days = [5, 1, 9, 3, 7, 2, 8]
    for n, day in enumerate(days):
        rows.append(["A" if n % 2 else "B", "purchase", f"2024-01-{day:02d}", "10"])
    rows.append(
        ["A", "purchase", "2023-12-31", "10"]
    )  # far after A's first rows, in the next chunk
    s = import_interactions(app, write_csv(tmp_path / "h.csv", rows), batch_size=3)
    assert s.recorded == 8
    for cid in (a, b):
        seen = [at for c, at in watcher.recorded if c == cid]
        assert seen == sorted(seen) and len(seen) == 4
    per_customer = [
        e["payload"]["occurred_at"]
        for e in outbox_events(app, "crm_interaction_recorded", customer_id=a)
    ]
    assert per_customer == sorted(per_customer)


def test_kernel_only_unsorted_file_is_sorted_too(crm_app, tmp_path):
    a = make_customer(crm_app, "A", external_id="A")
    rows = [["customer", "kind", "date", "amount"]] + [
        ["A", "purchase", f"2024-02-{d:02d}", "1"] for d in (9, 8, 7, 6)
    ]
    import_interactions(crm_app, write_csv(tmp_path / "h.csv", rows), batch_size=2)
    seen = [
        e["payload"]["occurred_at"]
        for e in outbox_events(crm_app, "crm_interaction_recorded", customer_id=a)
    ]
    assert seen == sorted(seen) and len(seen) == 4


def test_reimport_records_nothing_new(crm_app, tmp_path):
    make_customer(crm_app, "A", external_id="A")
    rows = [
        ["customer", "kind", "date", "amount", "id"],
        ["A", "purchase", "2024-01-01", "10", "O-1"],
        ["A", "purchase", "2024-01-02", "10", ""],
        ["A", "purchase", "2024-01-02", "10", ""],  # the same again that day: two real purchases
        ["A", "call", "2024-01-03", "", ""],
    ]
    path = write_csv(tmp_path / "h.csv", rows)
    assert import_interactions(crm_app, path).recorded == 4
    before = len(outbox_events(crm_app))
    again = import_interactions(crm_app, path)
    assert (again.recorded, again.already_imported, again.rejected) == (0, 4, 0)
    assert len(outbox_events(crm_app)) == before
    longer = write_csv(tmp_path / "h2.csv", rows + [["A", "purchase", "2024-01-02", "10", ""]])
    assert (
        import_interactions(crm_app, longer).recorded == 1
    )  # only the third purchase of that day is new


def test_bulk_path_announces_what_record_interaction_announces(crm_app_factory, tmp_path):
    results = []
    for n, watcher in enumerate((None, Watcher())):
        app = crm_app_factory(extra_plugins=[("watcher", watcher, None)] if watcher else [])
        cid = make_customer(app, f"C{n}", external_id=f"C{n}")
        path = write_csv(
            tmp_path / f"h{n}.csv",
            [
                ["customer", "kind", "date", "amount", "currency", "channel", "sku"],
                [f"C{n}", "purchase", "2024-03-01 10:00", "12.50", "USD", "web", "TEA-01"],
            ],
        )
        import_interactions(app, path)
        (event,) = outbox_events(app, "crm_interaction_recorded", customer_id=cid)
        payload = event["payload"]
        assert payload == stored(app)[-1]
        payload.pop("id"), payload.pop("customer_id")
        results.append(payload)
        if watcher:
            assert len(watcher.recorded) == 1
    assert results[0] == results[1]
    # and the same as a purchase recorded live
    app = crm_app_factory()
    cid = make_customer(app, "Live")
    record_purchase(
        app, cid, "12.50", currency="USD", at="2024-03-01 10:00", payload={"sku": "TEA-01"}
    )
    live = outbox_events(app, "crm_interaction_recorded", customer_id=cid)[0]["payload"]
    live.pop("id"), live.pop("customer_id")
    assert {**live, "channel": "web"} == results[0]


def test_dry_run_and_missing_columns(crm_app, tmp_path):
    make_customer(crm_app, "A", external_id="A")
    path = write_csv(
        tmp_path / "h.csv",
        [["customer", "kind", "date", "amount"], ["A", "purchase", "2024-01-01", "1"]],
    )
    s = import_interactions(crm_app, path, dry_run=True)
    assert (s.recorded, s.dry_run) == (1, True) and stored(crm_app) == []
    with pytest.raises(ValidationError, match="no customer column"):
        import_interactions(
            crm_app,
            write_csv(tmp_path / "x.csv", [["who", "date"], ["A", "2024-01-01"]]),
            kind="note",
        )
    with pytest.raises(ValidationError, match="no date column"):
        import_interactions(
            crm_app, write_csv(tmp_path / "y.csv", [["customer", "kind"], ["A", "note"]])
        )


CDNOW = "/work/shared/data/cdnow/CDNOW_master.txt"


@pytest.mark.slow
def test_cdnow_history_facts(crm_app, crm_cli):
    """The real CDNOW history: 69,659 purchases of 23,570 customers, 1997-01-01..1998-06-30, $2,500,315.63,
    the busiest customer (14048) with 217 purchases."""
    result = crm_cli(
        "--timezone",
        "UTC",
        "interactions",
        "import",
        CDNOW,
        "--create-customers",
        "--kind",
        "purchase",
        "--currency",
        "USD",
        "--mapping",
        "dollar_value=amount",
        "--json",
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = result.json()
    assert (
        summary["rows"],
        summary["recorded"],
        summary["customers_created"],
        summary["rejected"],
    ) == (69659, 69659, 23570, 0)
    with crm_app.unit_of_work(readonly=True) as uow:
        q = uow.session
        assert q.scalar(select(func.count()).select_from(Interaction)) == 69659
        assert q.scalar(select(func.count(func.distinct(Interaction.customer_id)))) == 23570
        first, last = q.execute(
            select(func.min(Interaction.occurred_at), func.max(Interaction.occurred_at))
        ).one()
        assert (first.date(), last.date()) == (date(1997, 1, 1), date(1998, 6, 30))
        assert (
            q.scalar(select(func.sum(Interaction.amount_minor))) == 250031563
        )  # $2,500,315.63 in cents
        assert set(q.scalars(select(Interaction.currency).distinct())) == {"USD"}
        busiest = q.execute(
            select(Customer.external_id, func.count())
            .join(Interaction)
            .group_by(Customer.external_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        assert tuple(busiest) == ("14048", 217)
        cds = q.scalar(
            select(Interaction.payload)
            .join(Customer)
            .where(Customer.external_id == "00002")
            .order_by(Interaction.occurred_at, Interaction.id)
            .limit(1)
        )
        assert cds == {
            "number_of_cds": 1
        }  # other columns go into the payload, whole numbers as ints
    assert len(outbox_events(crm_app, "crm_interaction_recorded")) == 69659
