"""Rows merged into stored customers: written a batch at a time (no plugin wants the ORM customer) or through
``update_customer`` (a plugin implements ``crm_customer_updated``), the database ends up the same."""

import re

from sqlalchemy import delete, func, select

from crmcore.api import AttributeSpec, hookimpl
from crmcore.importing import import_customers
from crmcore.storage.base import Base
from crmcore.storage.models import (
    AuditEntry,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerSearchToken,
    CustomerTag,
    OutboxEvent,
)
from crmcore.testing import make_customer

from .conftest import write_csv

HEADER = [
    "name",
    "mobile",
    "email",
    "tags",
    "city",
    "address",
    "birthday",
    "customer code",
    "kind",
    "sms consent",
    "attr.member_no",
]


class Club:
    """Declares the attribute the sheets fill."""

    @hookimpl
    def crm_customer_attributes(self):
        return [AttributeSpec("member_no", "int")]


class Listener:
    """Implements crm_customer_updated: the importer then merges through update_customer."""

    def __init__(self):
        self.updates: list[tuple[int, dict]] = []

    @hookimpl
    def crm_customer_updated(self, uow, customer, changes):
        assert customer.id is not None
        self.updates.append((customer.id, changes))


def seed(app) -> None:
    make_customer(app, "رضا محمدی", phones=["09121112233"], city="تهران", tags=["vip"])
    make_customer(app, "Sara Amini", emails=["sara@x.ir"], external_id="S-1", birthday="1990-02-03")
    make_customer(app, "کاوه", phones=["09350001111", "02188880000"], attributes={"member_no": "7"})


def sheets(tmp_path):
    merge = write_csv(
        tmp_path / "merge.csv",
        [
            HEADER,
            [
                "رضا محمدي",
                "+98 912 111 2233",
                "Reza@Mail.com",
                "عمده",
                "اصفهان",
                "",
                "1365-01-01",
                "",
                "",
                "بله",
                "",
            ],
            ["New One", "09127776655", "", "", "", "", "", "", "", "", ""],
            # the same stored customer again, in the same batch: two more phones, one of them repeated
            [
                "Reza",
                "0912 999 8877; 09121112233; 021 7777 6666",
                "",
                "vip، جدید",
                "",
                "",
                "",
                "",
                "",
                "",
                "12",
            ],
            ["SARA AMINI", "", "sara@X.IR", "", "", "خیابان آزادی", "", "S-1", "", "", ""],
            ["Kaveh", "۰۹۳۵۰۰۰۱۱۱۱", "", "", "Rasht", "", "", "K-9", "company", "no", "8"],
            ["کاوه", "09350001111", "kaveh@x.ir", "", "", "", "", "", "", "", ""],
            ["Sara Amini", "", "sara@x.ir", "", "", "", "", "", "", "", ""],  # nothing new
        ],
    )
    update = write_csv(
        tmp_path / "update.csv",
        [
            HEADER,
            [
                "رضا  محمدی زاده",
                "09121112233",
                "",
                "",
                "شیراز",
                "",
                "",
                "",
                "organisation",
                "",
                "13",
            ],
            ["Sara Amini-Rad", "", "sara@x.ir", "", "", "", "1991-04-05", "", "", "yes", ""],
            ["Kaveh Karimi", "09350001111", "", "", "", "", "", "", "person", "", ""],
        ],
    )
    return merge, update


def dump(app) -> dict:
    """Every row the imports wrote, customer ids replaced by their rank (ids of other rows left out)."""
    with app.unit_of_work(readonly=True) as uow:
        s = uow.session
        rank = {
            cid: f"#{n}"
            for n, cid in enumerate(s.scalars(select(Customer.id).order_by(Customer.id)))
        }

        def rows(*columns, order):
            return [
                tuple(rank.get(v, v) if c.key == "customer_id" else v for c, v in zip(columns, row))
                for row in s.execute(select(*columns).order_by(*order))
            ]

        def payload(p):
            return {k: rank[v] if k == "customer_id" else v for k, v in p.items()}

        customer_columns = [c for c in Customer.__table__.c if c.key not in ("id", "created_at")]
        return {
            "customers": [
                (rank[r[0]], *r[1:])
                for r in s.execute(select(Customer.id, *customer_columns).order_by(Customer.id))
            ],
            "phones": rows(
                CustomerPhone.customer_id,
                CustomerPhone.e164,
                CustomerPhone.kind,
                CustomerPhone.position,
                order=[CustomerPhone.id],
            ),
            "emails": rows(
                CustomerEmail.customer_id,
                CustomerEmail.email,
                CustomerEmail.position,
                order=[CustomerEmail.id],
            ),
            "tags": rows(
                CustomerTag.customer_id,
                CustomerTag.tag,
                order=[CustomerTag.customer_id, CustomerTag.tag],
            ),
            "tokens": sorted(
                rows(
                    CustomerSearchToken.customer_id,
                    CustomerSearchToken.token,
                    order=[CustomerSearchToken.customer_id],
                )
            ),
            "audit": [
                (
                    a.at,
                    a.actor,
                    a.action,
                    a.entity,
                    rank.get(int(a.entity_id)) if a.entity_id else None,
                    rank.get(a.customer_id),
                    a.changes,
                )
                for a in s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.entity == "customer")
                    .order_by(AuditEntry.id)
                )
            ],
            "outbox": [
                (e.event, rank.get(e.customer_id), payload(e.payload))
                for e in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
            ],
        }


def wipe(app) -> None:
    with app.unit_of_work() as uow:
        for table in reversed(Base.metadata.sorted_tables):
            uow.session.execute(delete(table))


def run(app, tmp_path) -> tuple[dict, list]:
    """Seed, import the two sheets; the rows written and the summaries (customer ids in notes as ranks)."""
    seed(app)
    merge, update = sheets(tmp_path)
    first = import_customers(app, merge, batch_size=3)
    second = import_customers(app, update, batch_size=2, on_duplicate="update")
    data = dump(app)
    with app.unit_of_work(readonly=True) as uow:
        first_id = uow.session.scalar(select(func.min(Customer.id)))

    def ranked(note: str) -> str:
        return re.sub(r"customer (\d+)", lambda m: f"customer #{int(m[1]) - first_id}", note)

    counts = [
        (s.created, s.merged, s.unchanged, s.rejected, [ranked(n) for n in s.notes])
        for s in (first, second)
    ]
    return data, counts


def test_batched_merges_store_what_update_customer_stores(crm_app_factory, tmp_path, monkeypatch):
    listener = Listener()
    through_orm = crm_app_factory(
        extra_plugins=[("club", Club(), None), ("listener", listener, None)]
    )
    expected, expected_counts = run(through_orm, tmp_path)
    assert (
        len(listener.updates) == 8
    )  # the ORM path ran: five merges with something new, three updates
    through_orm.dispose()
    wipe(crm_app_factory())

    batched = crm_app_factory(extra_plugins=[("club", Club(), None)])

    def one_at_a_time(*args, **kwargs):
        raise AssertionError(
            "without a plugin wanting the ORM customer, merges are written a batch at a time"
        )

    monkeypatch.setattr("crmcore.importing.customers.update_customer", one_at_a_time)
    got, counts = run(batched, tmp_path)
    assert counts == expected_counts
    assert [c[:4] for c in counts] == [(1, 5, 1, 0), (0, 3, 0, 0)]
    assert len(counts[0][4]) == 4  # the differing city, names and attribute were noted, not written
    for table in expected:
        assert got[table] == expected[table], table
    # what the sheets were meant to exercise did happen
    assert [p[1:] for p in got["phones"] if p[0] == "#0"] == [
        ("+989121112233", "mobile", 0),
        ("+989129998877", "mobile", 1),
        ("+982177776666", "landline", 2),
    ]
    assert [t for c, t in got["tags"] if c == "#0"] == sorted(["vip", "عمده", "جدید"])
    assert ("#0", "زاده") in got["tokens"] and ("#2", "karimi") in got["tokens"]
    assert [c[1:5] for c in got["customers"][:3]] == [
        ("organisation", "رضا محمدی زاده", "رضا محمدی زاده", None),
        ("person", "Sara Amini-Rad", "sara amini-rad", "S-1"),
        ("person", "Kaveh Karimi", "kaveh karimi", "K-9"),
    ]
