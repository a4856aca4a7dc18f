"""Merging and forgetting reach every plugin table because every plugin model that refers to a
customer declares what it holds (``__customer_data__``, :mod:`crmcore.storage.customer_data`)."""

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, or_, select

from crmcore.api import add_customer, record_interaction
from crmcore.demo import SKUS
from crmcore.plugin_host import PluginHost, installed_manifests
from crmcore.services.erasure import plugin_packages
from crmcore.storage.customer_data import (
    _rows_of,
    customer_columns,
    declared_models,
    undeclared,
)
from crmcore.storage.models import OutboxEvent

ALL = sorted(installed_manifests())


@pytest.fixture
def crm_plugins():
    return ALL


@pytest.fixture(autouse=True)
def _in_tmp_path(monkeypatch, tmp_path):
    # the messaging demo writes its messages to the working directory on PostgreSQL
    monkeypatch.chdir(tmp_path)


def all_packages() -> list[str]:
    host = PluginHost(ALL)
    host.pm  # imports every plugin's models
    return [host.manifests[name].package for name in host.enabled]


def test_every_customer_reference_and_personal_column_is_declared():
    packages = all_packages()
    assert undeclared(packages) == []
    # the walk sees the plugins' tables (it cannot pass by finding nothing)
    assert len(declared_models(packages)) >= 30


def test_the_walk_fails_on_an_undeclared_model_or_column(monkeypatch):
    packages = all_packages()
    tag = next(m for m, _d in declared_models(packages) if m.__tablename__ == "tickets_ticket_tags")
    call = next(m for m, _d in declared_models(packages) if m.__tablename__ == "voip_calls")
    monkeypatch.delattr(tag, "__customer_data__")
    keep = tuple(c for c in call.__customer_data__.keep if c != "end_cause")
    monkeypatch.setattr(
        call,
        "__customer_data__",
        type(call.__customer_data__)(erase=call.__customer_data__.erase, keep=keep),
    )
    problems = undeclared(packages)
    assert any("TicketTag" in p and "no __customer_data__" in p for p in problems)
    assert any("'end_cause' is neither erased nor kept" in p for p in problems)


def seeded(app, people: int = 60) -> list[int]:
    """Customers with the kernel's and every plugin's demo data (``crm_demo_seed``)."""
    rng = random.Random(1403)
    with app.unit_of_work(actor="demo") as uow:
        customers = []
        for n in range(people):
            c = add_customer(
                uow,
                name=f"مشتری{n:02d} آزمون{n:02d}",
                phones=[f"0912{n:07d}"],
                emails=[f"person{n:02d}@example.ir"],
                address=f"کوچه شماره {n:02d}",
                consent_sms=True,
                consent_email=True,
            )
            for _ in range(rng.randrange(1, 9)):  # as crm demo does: a year of purchases
                sku, title, price = rng.choice(SKUS)
                record_interaction(
                    uow,
                    c,
                    kind="purchase",
                    channel="store",
                    amount=str(price),
                    currency="IRR",
                    payload={
                        "lines": [{"sku": sku, "title": title, "quantity": 1, "amount": str(price)}]
                    },
                    occurred_at=uow.now() - timedelta(days=rng.randrange(1, 365)),
                )
            customers.append(c)
        list(uow.call("crm_demo_seed", customers=customers, rng=rng))
        fill_what_the_demo_leaves_empty(uow, customers)
        return [c.id for c in customers]


def fill_what_the_demo_leaves_empty(uow, customers) -> None:
    """Rows the demo does not make, through the plugins' own services where they are reachable."""
    from crmcore_messaging.policy import set_consent
    from crmcore_pipeline.deals import log_activity
    from crmcore_pipeline.models import Deal
    from crmcore_referrals.service import attach, code_of
    from crmcore_surveys.models import FollowUp, Response
    from crmcore_tickets.models import Ticket
    from crmcore_tickets.service import retag

    s = uow.session
    deal = s.scalars(select(Deal).order_by(Deal.id)).first()
    log_activity(uow, deal.id, note="called about order 4411 for her sister")
    ticket = s.scalars(select(Ticket).order_by(Ticket.id)).first()
    retag(uow, ticket.id, add=["late-delivery"])
    set_consent(uow, customers[1], "sms", False, source="staff", detail="asked by phone, annoyed")
    response = s.scalars(select(Response).order_by(Response.id)).first()
    if (
        response is not None
        and s.scalar(select(FollowUp.id).where(FollowUp.response_id == response.id)) is None
    ):
        s.add(
            FollowUp(
                response_id=response.id,
                customer_id=response.customer_id,
                status="open",
                created_at=uow.now(),
                note="unhappy with the courier, call back",
            )
        )
    from crmcore_tasks.models import CalendarConnection, CalendarItem, Task

    task = s.scalars(select(Task).where(Task.assignee.is_not(None)).order_by(Task.id)).first()
    username = task.assignee
    if s.get(CalendarConnection, username) is None:
        s.add(
            CalendarConnection(
                username=username,
                url="http://127.0.0.1:1/cal/",
                password_ref="env:CAL",
                created_at=uow.now(),
            )
        )
    s.add(CalendarItem(username=username, task_id=task.id, href=f"/cal/{task.uid}.ics", etag='"1"'))
    from crmcore_messaging.chat_models import ChatLink, ChatMessage

    s.add(
        ChatLink(
            chat_id="7001",
            user_id="7001",
            name="chat name of the customer",
            customer_id=customers[3].id,
            phone_e164="+989121110003",
            created_at=uow.now(),
            linked_at=uow.now(),
        )
    )
    s.add(
        ChatMessage(
            chat_id="7001",
            update_id=99001,
            direction="in",
            customer_id=customers[3].id,
            text="my order 5512 never came, my address is Vanak",
            status="received",
            created_at=uow.now(),
        )
    )
    friend = add_customer(uow, name="دوست تازه", phones=["09390001122"])
    attach(uow, friend, code_of(uow, customers[2].id), device="device-fingerprint-77")
    record_interaction(
        uow, friend, kind="purchase", amount="9000000", currency="IRR", occurred_at=uow.now()
    )
    s.flush()


def owners(session, model, decl, ids: list[int]) -> set[int]:
    """Which of ``ids`` own at least one row of ``model``."""
    return {
        i
        for i in ids
        if session.scalar(
            select(1).select_from(model).where(_rows_of(model, decl, [i], erasing=False)).limit(1)
        )
    }


def texts(session, model, where=None) -> list[str]:
    columns = [
        c
        for c in model.__table__.columns
        if isinstance(c.type, (String, Text)) or "JSON" in type(c.type).__name__
    ]
    if not columns:
        return []
    query = select(*columns)
    if where is not None:
        query = query.where(where)
    return [
        repr(v) if not isinstance(v, str) else v
        for row in session.execute(query)
        for v in row
        if v not in (None, "", {}, [])
    ]


def test_forget_erases_every_declared_column_of_every_plugin_table(crm_app, crm_cli, crm_backend):
    ids = seeded(crm_app)
    packages = plugin_packages(crm_app)
    with crm_app.unit_of_work(readonly=True) as uow:
        s = uow.session
        chosen: set[int] = set()
        filled = []
        for model, decl in declared_models(packages):
            found = owners(s, model, decl, ids)
            if found:
                filled.append(model.__tablename__)
                if not found & chosen:
                    chosen.add(min(found))
        # the personal values of the chosen customers' rows that nobody else's row holds
        secrets: dict[str, str] = {}
        for model, decl in declared_models(packages):
            if not decl.erase:
                continue
            theirs = _rows_of(model, decl, sorted(chosen), erasing=True)
            if decl.where is not None:
                theirs = theirs & decl.where(model)
            cols = [model.__table__.columns[n] for n in decl.erase]
            others = {repr(v) for row in s.execute(select(*cols).where(~theirs)) for v in row}
            for row in s.execute(select(*cols).where(theirs)):
                for col, v in zip(cols, row):
                    if v not in (None, "", {}, []) and repr(v) not in others and len(repr(v)) > 6:
                        secrets[repr(v) if not isinstance(v, str) else v] = (
                            f"{model.__tablename__}.{col.name}"
                        )
        shared = {
            v
            for v in secrets
            for p in s.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.customer_id.not_in(chosen))
            )
            if v in repr(p) or v in json.dumps(p, ensure_ascii=False)
        }
    assert len(filled) == len(declared_models(packages)), filled
    assert len({w.split(".")[0] for w in secrets.values()}) >= 12, secrets
    for cid in sorted(chosen):
        assert crm_cli("customers", "forget", str(cid), "--yes").exit_code == 0
    with crm_app.unit_of_work(readonly=True) as uow:
        left = {}
        for model, _decl in declared_models(packages):
            for text in texts(uow.session, model):
                for secret, where in secrets.items():
                    if secret in text:
                        left[where] = secret
    assert left == {}
    if crm_backend == "sqlite":
        from tests.test_forget import raw_bytes

        data = raw_bytes(crm_app.url)
        # the other party's outbox events (a transfer's sender) still carry a shared note until
        # they are pruned (CRM_OUTBOX_RETENTION); short words also occur in unrelated text
        assert [
            w for v, w in secrets.items() if len(v) >= 8 and v not in shared and v.encode() in data
        ] == []


def test_merge_leaves_no_declared_row_with_the_absorbed_customer(crm_app, crm_cli):
    ids = seeded(crm_app)
    packages = plugin_packages(crm_app)
    with crm_app.unit_of_work(readonly=True) as uow:
        counts = {i: 0 for i in ids}
        for model, decl in declared_models(packages):
            for i in owners(uow.session, model, decl, ids):
                counts[i] += 1
    keep, other = sorted(ids, key=lambda i: -counts[i])[:2]
    assert crm_cli("customers", "merge", str(keep), str(other)).exit_code == 0
    with crm_app.unit_of_work(readonly=True) as uow:
        left = []
        for model, decl in declared_models(packages):
            if decl.via is not None or decl.merge in ("hook", "keep"):
                continue
            cols = customer_columns(model)
            if uow.session.scalar(
                select(1).select_from(model).where(or_(*[c == other for c in cols])).limit(1)
            ):
                left.append(model.__tablename__)
    assert left == []
