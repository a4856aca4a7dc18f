"""Voip on ``crm web``: the call log (filters, paging), missed calls marked called back,
click-to-call beside every phone number when the PBX login is configured, and the record rules on
the call log and the caller-ID pops (an agent restricted to their own customers never sees another
customer's name)."""

from __future__ import annotations

import json
import re

import attrs
import pytest
from crmcore_voip.models import FollowUp
from crmcore_voip.service import handle_call_event

from crmcore.testing import (
    WebSettings,
    add_user,
    assign_customer,
    make_customer,
    set_permission,
    set_role_scope,
    set_unassigned,
    update_user,
)
from crmcore.testing.web import login as form_login
from crmcore.testing.web import web_client

from .test_calls import answered_call, ev, rows

PASSWORD = "a long enough password"
SETTINGS = WebSettings(secret="test-secret", sse_poll=0.02, sse_max_seconds=0.3, sse_keepalive=0.1)


def login(client, username: str) -> str:
    client.cookies.clear()
    return form_login(client, username, PASSWORD)


def csrf(client, path: str) -> str:
    return re.search(r'data-csrf="([^"]*)"', client.get(path).text).group(1)


@pytest.fixture
def site(app):
    with app.unit_of_work(actor="setup") as uow:
        for name, role in (
            ("manager", "manager"),
            ("reza", "agent"),
            ("sima", "agent"),
            ("outsider", "agent"),
        ):
            add_user(uow, name, PASSWORD, role)
        set_permission(uow, "outsider", "voip", "none")
        update_user(uow, "reza", extension="101")
    ids = {
        "maryam": make_customer(app, "مریم رضایی", phones=["09121234567"]),
        "ali": make_customer(app, "علی نوری", phones=["09127654321"]),
    }
    with app.unit_of_work(actor="setup") as uow:
        assign_customer(uow, ids["maryam"], user="sima")
        assign_customer(uow, ids["ali"], user="reza")
        ali_missed = [
            ev("ringing", "c2", 300, caller="09127654321", extension="101"),
            ev("hangup", "c2", 330, caller="09127654321"),
        ]
        unknown = [
            ev("ringing", "c3", 600, caller="09350001122", extension="101"),
            ev("hangup", "c3", 620, caller="09350001122"),
        ]
        for e in answered_call("c1", 0) + ali_missed + unknown:
            handle_call_event(uow, e)
    with web_client(app, SETTINGS) as client:
        yield client, ids


def restrict_agents(app):
    with app.unit_of_work(actor="setup") as uow:
        set_role_scope(uow, "agent", read="own")
        set_unassigned(uow, "private")


def test_the_call_log_filters_and_pages(app, site):
    client, ids = site
    login(client, "manager")
    page = client.get("/p/voip/calls")
    assert page.status_code == 200
    assert [n for n in re.findall(r'<a href="/customers/(\d+)">', page.text)] == [
        str(ids["ali"]),
        str(ids["maryam"]),
    ]
    assert "تماس‌گیرنده ناشناس" in page.text and "۰۹۳۵ ۰۰۰ ۱۱۲۲" in page.text
    missed = client.get("/p/voip/calls", params={"status": "missed"}).text
    assert "علی نوری" in missed and "مریم رضایی" not in missed
    unknown = client.get("/api/p/voip/calls", params={"who": "unknown"}).json()
    assert [c["number"] for c in unknown] == ["+989350001122"]
    first = client.get("/api/p/voip/calls", params={"limit": 2})
    assert [c["call_key"] for c in first.json()] == ["webhook:c3", "webhook:c2"]
    rest = client.get(first.links["next"]["url"]).json()
    assert [c["call_key"] for c in rest] == ["webhook:c1"] and rest[0]["talk_seconds"] == 120
    bad = client.get("/p/voip/calls", params={"status": "lost"})
    assert bad.status_code == 422 and 'id="status-error">' in bad.text


def test_an_agent_restricted_to_own_customers_sees_no_other_names_in_the_log_or_the_pops(app, site):
    client, ids = site
    restrict_agents(app)
    login(client, "reza")
    page = client.get("/p/voip/calls").text
    assert "علی نوری" in page and "مریم رضایی" not in page and "مشتری همکار" in page
    assert "۰۹۱۲ ۱۲۳ ۴۵۶۷" not in page  # nor her number
    calls = {c["call_key"]: c for c in client.get("/api/p/voip/calls").json()}
    assert calls["webhook:c1"]["restricted"] and calls["webhook:c1"]["number"] is None
    assert calls["webhook:c1"]["customer_id"] is None
    assert calls["webhook:c2"]["customer_id"] == ids["ali"]
    assert not calls["webhook:c2"]["restricted"]
    live = client.get("/calls").text
    assert "مریم رضایی" not in live and "مشتری همکار" in live and "علی نوری" in live
    stream = client.get("/events/calls", params={"after": 0}).text
    pops = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith('data: {"')]
    assert [(p["customer"] or {}).get("name") for p in pops] == [None, "علی نوری", None]
    assert [p["restricted"] for p in pops] == [True, False, False]
    assert "مریم" not in stream
    login(client, "sima")  # whose customer she is
    assert "مریم رضایی" in client.get("/calls").text


def test_missed_calls_are_marked_called_back_once(app, site, crm_cli):
    client, ids = site
    [follow_up] = [f for f in rows(app, FollowUp) if f.customer_id == ids["ali"]]
    login(client, "reza")
    page = client.get("/p/voip/missed").text
    assert f'data-follow-up="{follow_up.id}"' in page and "علی نوری" in page
    done = client.post(
        f"/p/voip/follow-ups/{follow_up.id}/done",
        data={"csrf_token": csrf(client, "/p/voip/missed")},
    )
    assert done.status_code == 200 and "به‌عنوان «تماس گرفته شد» ثبت شد." in done.text
    assert f'data-follow-up="{follow_up.id}"' not in done.text
    again = client.post(
        f"/p/voip/follow-ups/{follow_up.id}/done",
        data={"csrf_token": csrf(client, "/p/voip/missed")},
    )
    assert again.status_code == 422 and "is already done (by reza)" in again.text
    listed = crm_cli("voip", "follow-ups", "list", "--all", "--json").json()
    assert [f["status"] for f in listed if f["id"] == follow_up.id] == ["done"]


def test_click_to_call_sits_beside_every_number_when_the_pbx_is_configured(app, site, fake_pbx):
    client, ids = site
    login(client, "reza")
    app.voip_config = attrs.evolve(app.voip_config, ami_username=None)
    page = client.get(f"/customers/{ids['ali']}").text
    assert 'action="/p/voip/call"' not in page  # no PBX login: no button
    pbx = fake_pbx([])
    app.voip_config = attrs.evolve(app.voip_config, ami_username="crm", ami_port=pbx.port)
    page = client.get(f"/customers/{ids['ali']}").text
    assert page.count('action="/p/voip/call"') == 1 and 'value="+989127654321"' in page
    placed = client.post(
        "/p/voip/call",
        data={
            "csrf_token": csrf(client, "/p/voip/calls"),
            "customer_id": str(ids["ali"]),
            "phone": "+989127654321",
        },
        headers={"Referer": f"http://testserver/customers/{ids['ali']}"},
    )
    assert placed.status_code == 200 and 'id="dialled"' in placed.text
    assert f'href="/customers/{ids["ali"]}"' in placed.text
    sent = next(a for _, a in pbx.actions if a["Action"] == "Originate")
    assert (sent["Channel"], sent["Exten"]) == ("PJSIP/101", "09127654321")
    login(client, "sima")  # no extension of her own
    refused = client.post(
        "/p/voip/call",
        data={"csrf_token": csrf(client, "/p/voip/calls"), "customer_id": str(ids["ali"])},
    )
    assert refused.status_code == 422
    assert 'id="extension-error">no extension to ring first' in refused.text
    assert len([a for _, a in pbx.actions if a["Action"] == "Originate"]) == 1


def test_without_the_plugin_permission_no_menu_and_403(app, site):
    client, _ids = site
    login(client, "reza")
    assert 'href="/p/voip/calls"' in client.get("/customers").text
    login(client, "outsider")
    assert 'href="/p/voip/calls"' not in client.get("/customers").text
    for path in ("/p/voip/calls", "/p/voip/missed", "/api/p/voip/calls", "/api/p/voip/follow-ups"):
        assert client.get(path).status_code == 403, path
