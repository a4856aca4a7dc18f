"""The public lead form: visitors become leads; forged, robotic, repeated or invalid posts store nothing."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import hookimpl
from crmcore.storage.models import Customer
from crmcore.testing import make_customer

from .conftest import form_token
from .test_api import audit, count_customers


def send(client, **fields):
    token = form_token(client.get("/forms/lead").text)
    return client.post("/forms/lead", data={"form_token": token, **fields})


def lead_customers(app):
    with app.unit_of_work(readonly=True) as uow:
        return [
            (c.display_name, sorted(t.tag for t in c.tags), [p.e164 for p in c.phones])
            for c in uow.session.scalars(select(Customer).order_by(Customer.id))
        ]


def test_a_visitor_becomes_a_lead_and_plugins_hear_of_it(crm_app_factory, make_client):
    heard = []

    class Pipeline:
        @hookimpl
        def crm_web_lead_received(self, uow, customer, created, form):
            heard.append((customer.id, created, form["source"], form["message"]))

    app = crm_app_factory(extra_plugins=[("pipeline_stub", Pipeline(), None)])
    client = make_client(app)
    page = client.get("/forms/lead?source=nowruz")
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    done = send(
        client,
        name="  نازنین  کریمی ",
        phone="۰۹۱۲۳۳۳۴۴۵۵",
        message="قیمت بسته طلایی؟",
        source="nowruz",
    )
    assert done.status_code == 200 and "سپاس" in done.text
    assert lead_customers(app) == [("نازنین کریمی", ["lead", "web-form"], ["+989123334455"])]
    assert heard == [(1, True, "nowruz", "قیمت بسته طلایی؟")]
    assert ("public-form", "create", "customer") in audit(app)


def test_a_known_phone_or_email_never_changes_the_customer(client, crm_app):
    """Issue 29, hole 1: a known phone with the poster's email (or a known email with their phone)
    used to be added to the customer: anyone could take over a customer's contacts through the
    anonymous form."""
    from crmcore.storage.models import Interaction, PendingLead

    cid = make_customer(crm_app, "نازنین کریمی", phones=["09123334455"], emails=["naz@example.ir"])
    before = lead_customers(crm_app)
    by_phone = send(client, name="نازنین", phone="+98 912 333 4455", email="attacker@evil.example")
    by_email = send(client, name="x", phone="09350001122", email="NAZ@example.ir", message="hi")
    assert by_phone.status_code == by_email.status_code == 200
    assert "سپاس" in by_email.text  # thanked as any visitor: no hint of a match
    assert lead_customers(crm_app) == before
    with crm_app.unit_of_work(readonly=True) as uow:
        assert [e.email for e in uow.session.get(Customer, cid).emails] == ["naz@example.ir"]
        assert uow.session.scalars(select(Interaction)).all() == []
        held = [
            (p.customer_id, p.matched_by, p.phone, p.email)
            for p in uow.session.scalars(select(PendingLead).order_by(PendingLead.id))
        ]
    assert held == [
        (cid, "phone", "+989123334455", "attacker@evil.example"),
        (cid, "email", "+989350001122", "naz@example.ir"),
    ]
    assert audit(crm_app, "hold") == [("public-form", "hold", "pending_lead")] * 2


def test_posts_not_loaded_from_the_form_are_refused(client, crm_app):
    forged = client.post("/forms/lead", data={"name": "x", "phone": "09120000000"})
    assert forged.status_code == 403 and "منقضی" in forged.text
    tampered = client.post(
        "/forms/lead", data={"name": "x", "phone": "09120000000", "form_token": "abc.def.ghi"}
    )
    assert tampered.status_code == 403
    assert count_customers(crm_app) == 0


def test_robots_filling_the_hidden_field_are_thanked_and_ignored(client, crm_app):
    assert (
        send(client, name="bot", phone="09120000000", website="http://spam.example").status_code
        == 200
    )
    assert count_customers(crm_app) == 0


def test_invalid_fields_are_named_and_the_form_keeps_the_input_escaped(client, crm_app):
    bad = send(client, name="<b>رضا</b>", phone="0912")
    assert bad.status_code == 422 and "field phone" in bad.text
    assert "&lt;b&gt;رضا&lt;/b&gt;" in bad.text and "<b>رضا" not in bad.text
    nothing = send(client, name="رضا")
    assert nothing.status_code == 422 and "phone number or an email" in nothing.text
    assert count_customers(crm_app) == 0


def test_submissions_are_rate_limited_per_address(client, crm_app):
    codes = [send(client, name=f"نفر {i}", phone=f"0912000000{i}").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert count_customers(crm_app) == 3


def test_pages_other_than_the_form_refuse_framing(client):
    headers = client.get("/login").headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
