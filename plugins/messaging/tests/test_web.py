"""Messaging on ``crm web``: the template editor and its preview for a chosen customer, the campaign
composer on a saved segment with its consent counts, the delivery log (filters, paging, record
rules), the API routes in the OpenAPI description, and 403 without the plugin's permission."""

from __future__ import annotations

import re

import pytest
from crmcore_messaging.models import Message
from crmcore_messaging.service import add_provider, save_template
from sqlalchemy import select

from crmcore.testing import add_user, create_token, make_customer, save_segment, set_permission
from crmcore.testing.web import login as form_login
from crmcore.testing.web import web_client

PASSWORD = "a long enough password"


@pytest.fixture
def site(crm_app, tmp_path):
    with crm_app.unit_of_work(actor="setup") as uow:
        for name, role in (
            ("manager", "manager"),
            ("agent", "agent"),
            ("viewer", "read-only"),
            ("outsider", "agent"),
        ):
            add_user(uow, name, PASSWORD, role)
        set_permission(uow, "outsider", "messaging", "none")
        add_provider(
            uow,
            name="dev",
            kind="file",
            channel="sms",
            options={"path": str(tmp_path / "sms.jsonl")},
        )
        save_template(
            uow,
            name="spring",
            channel="sms",
            category="promotional",
            body="{{ first_name }} عزیز، تخفیف بهاره در راه است. لغو۱۱",
        )
    ids = {
        "maryam": make_customer(
            crm_app, "مریم رضایی", phones=["09121234567"], tags=["vip"], consent_sms=True
        ),
        "sara": make_customer(
            crm_app, "سارا کریمی", phones=["09121234568"], tags=["vip"], consent_sms=True
        ),
        "zahra": make_customer(crm_app, "زهرا احمدی", phones=["09121234569"], tags=["vip"]),
        "ali": make_customer(crm_app, "علی نوری", phones=["09121234560"], consent_sms=True),
    }
    with crm_app.unit_of_work(actor="setup") as uow:
        ids["segment"] = save_segment(uow, "مشتریان ویژه", ["tag=vip"]).id
    with web_client(crm_app) as client:
        yield client, ids


def login(client, username: str, password: str) -> str:
    client.cookies.clear()  # a new person at the same browser
    return form_login(client, username, password)


def messages(app):
    with app.unit_of_work(readonly=True) as uow:
        return [
            (m.customer_id, m.status, m.body)
            for m in uow.session.scalars(select(Message).order_by(Message.id))
        ]


def test_the_preview_renders_a_typed_text_for_the_chosen_customer(crm_app, site):
    client, ids = site
    login(client, "agent", PASSWORD)
    shown = client.get(
        "/api/p/messaging/preview",
        params={
            "body": "{{ first_name }} عزیز، {{ points|fa }} امتیاز دارید",
            "customer": "09121234568",
        },
    )
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "customer_id": ids["sara"],
        "subject": None,
        "body": "سارا عزیز، ۵۰۰ امتیاز دارید",
    }
    bad = client.get("/api/p/messaging/preview", params={"body": "{{ nickname }}"})
    assert bad.status_code == 422 and bad.json()["field"] == "body"
    assert bad.json()["error"].startswith("unknown field 'nickname'")
    page = client.post(
        "/p/messaging/templates",
        data={
            "csrf_token": _csrf(client),
            "do": "preview",
            "name": "hi",
            "channel": "sms",
            "language": "fa",
            "category": "transactional",
            "body": "سلام {{ name }}",
            "customer": str(ids["maryam"]),
        },
    )
    assert page.status_code == 200 and "سلام مریم رضایی" in page.text
    assert 'id="preview-who">برای مشتری' in page.text


def _csrf(client) -> str:
    return re.search(r'data-csrf="([^"]*)"', client.get("/p/messaging/templates").text).group(1)


def test_saving_a_template_checks_it_as_the_cli_does_and_shows_the_error_beside_the_field(
    crm_app, site
):
    client, _ids = site
    login(client, "agent", PASSWORD)
    csrf = _csrf(client)
    form = {
        "csrf_token": csrf,
        "do": "save",
        "name": "thanks",
        "channel": "sms",
        "language": "fa",
        "category": "transactional",
        "subject": "",
        "body": "{{ first_name }} {{ amount|toman",
    }
    refused = client.post("/p/messaging/templates", data=form)
    assert refused.status_code == 422
    assert re.search(r'id="body-error">line 1: [^<]+</span>', refused.text)
    assert "{{ first_name }} {{ amount|toman</textarea>" in refused.text  # the input is kept
    form["body"] = "{{ first_name }} عزیز، از خرید {{ amount|toman(true) }} سپاسگزاریم"
    saved = client.post("/p/messaging/templates", data=form)
    assert saved.status_code == 200 and "قالب ذخیره شد." in saved.text
    listed = client.get("/api/p/messaging/templates").json()
    assert [t["name"] for t in listed] == ["spring", "thanks"]
    login(client, "viewer", PASSWORD)
    refused = client.post("/p/messaging/templates", data={**form, "csrf_token": _csrf(client)})
    assert refused.status_code == 403


def test_a_manager_sends_a_campaign_to_a_segment_after_seeing_the_consent_counts(
    crm_app, site, crm_cli
):
    client, ids = site
    login(client, "manager", PASSWORD)
    counts = client.get(f"/api/p/messaging/segments/{ids['segment']}/counts").json()
    assert [counts[k] for k in ("matching", "with_consent", "no_consent", "would_send")] == [
        3,
        2,
        1,
        2,
    ]
    page = client.get(
        "/p/messaging/campaigns", params={"segment": ids["segment"], "channel": "sms"}
    )
    stats = re.findall(
        r'ui-stat-label">([^<]+)</span>\s*<span class="ui-stat-value">([^<]+)<', page.text
    )
    assert stats == [
        ("در این بخش", "۳"),
        ("با رضایت", "۲"),
        ("بدون رضایت", "۱"),
        ("ارسال می‌شود", "۲"),
    ]
    assert "ارسال به ۲ مشتری" in page.text
    sent = client.post(
        "/p/messaging/campaigns",
        data={
            "csrf_token": _csrf(client),
            "segment": str(ids["segment"]),
            "channel": "sms",
            "template": "spring",
            "name": "bahar",
        },
    )
    assert sent.status_code == 200 and 'id="campaign-sent"' in sent.text
    shown = crm_cli("messages", "campaigns", "show", "bahar", "--json").json()
    assert shown["where"] == ["tag=vip"] and shown["status"] == "done"
    assert sorted((cid, status) for cid, status, _body in messages(crm_app)) == [
        (ids["maryam"], "delivered"),
        (ids["sara"], "delivered"),
    ]
    again = client.post(
        "/p/messaging/campaigns",
        data={
            "csrf_token": _csrf(client),
            "segment": str(ids["segment"]),
            "channel": "sms",
            "template": "spring",
            "name": "bahar",
        },
    )
    assert again.status_code == 422 and 'id="name-error">a campaign named' in again.text
    assert len(messages(crm_app)) == 2


def test_only_managers_send_and_users_without_the_plugin_get_403_and_no_menu(crm_app, site):
    client, ids = site
    login(client, "agent", PASSWORD)
    page = client.get("/p/messaging/campaigns", params={"segment": ids["segment"]})
    assert page.status_code == 200 and 'id="campaign-send"' not in page.text
    assert (
        client.post(
            "/p/messaging/campaigns",
            data={
                "csrf_token": _csrf(client),
                "segment": str(ids["segment"]),
                "template": "spring",
                "name": "x",
            },
        ).status_code
        == 403
    )
    assert 'href="/p/messaging/log"' in client.get("/customers").text
    login(client, "outsider", PASSWORD)
    assert 'href="/p/messaging/log"' not in client.get("/customers").text
    for path in (
        "/p/messaging/log",
        "/p/messaging/templates",
        "/p/messaging/campaigns",
        "/api/p/messaging/messages",
        "/api/p/messaging/templates",
    ):
        assert client.get(path).status_code == 403, path
    assert messages(crm_app) == []


def test_the_delivery_log_filters_pages_and_follows_the_record_rules(crm_app, site, crm_cli):
    from crmcore.testing import assign_customer, set_role_scope, set_unassigned

    client, ids = site
    from crmcore_messaging.outbox import queue_message

    from crmcore.api import get_customer

    for who in ("maryam", "sara", "zahra", "ali"):  # zahra gave no consent: blocked, and logged
        with crm_app.unit_of_work() as uow:
            queue_message(
                uow,
                get_customer(uow.session, ids[who]),
                template="spring",
                channel="sms",
                trigger="manual",
                key=f"manual:{who}",
            )
    assert [s for _c, s, _b in messages(crm_app)] == [
        "delivered",
        "delivered",
        "blocked",
        "delivered",
    ]
    with crm_app.unit_of_work(actor="setup") as uow:
        token = create_token(uow, "manager", "t")[1]
    h = {"Authorization": f"Bearer {token}"}
    log = "/api/p/messaging/messages"
    first = client.get(log, params={"limit": 3, "channel": "sms"}, headers=h)
    assert [m["customer_id"] for m in first.json()] == [ids["ali"], ids["zahra"], ids["sara"]]
    nxt = first.links["next"]["url"]
    assert [m["customer_id"] for m in client.get(nxt, headers=h).json()] == [ids["maryam"]]
    blocked = client.get(log, params={"status": "blocked"}, headers=h).json()
    assert [(m["customer_id"], m["error"]) for m in blocked] == [
        (ids["zahra"], f"customer {ids['zahra']} has not opted in to sms (or opted out)")
    ]
    assert client.get(log, params={"status": "failed"}, headers=h).json() == []
    bad = client.get(log, params={"status": "lost"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    login(client, "manager", PASSWORD)
    page = client.get("/p/messaging/log", params={"status": "delivered"})
    assert page.status_code == 200 and "مریم رضایی" in page.text and "رسید" in page.text
    # an agent who may read only their own customers sees only their messages
    with crm_app.unit_of_work(actor="setup") as uow:
        set_role_scope(uow, "agent", read="own")
        set_unassigned(uow, "private")
        assign_customer(uow, ids["ali"], user="agent")
    login(client, "agent", PASSWORD)
    page = client.get("/p/messaging/log")
    assert "علی نوری" in page.text and "مریم رضایی" not in page.text and "سارا" not in page.text
    assert [m["customer_id"] for m in client.get(log).json()] == [ids["ali"]]
    page = client.get("/p/messaging/log", params={"status": "failed"})
    assert "پیامی با این شرایط نیست." in page.text


def test_the_api_routes_are_in_the_openapi_description(crm_app, site):
    client, _ids = site
    login(client, "viewer", PASSWORD)
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {
        "/api/p/messaging/messages",
        "/api/p/messaging/templates",
        "/api/p/messaging/preview",
        "/api/p/messaging/campaigns",
        "/api/p/messaging/segments/{segment_id}/counts",
    } <= set(paths)
    assert not any(p.startswith("/p/messaging") for p in paths)


def test_a_message_to_one_customer_from_the_360_page(crm_app, site):
    """The 360° page's "send a message" queues the template through the CLI's strict
    ``queue_message``: refused without consent (the reason shown, nothing stored); read-only users
    and those without messaging get no form and 403."""
    client, ids = site
    csrf = login(client, "agent", PASSWORD)
    url = f"/p/messaging/customers/{ids['zahra']}/send"
    page = client.get(f"/customers/{ids['zahra']}").text
    assert f'action="{url}"' in page and "ارسال پیام" in page
    key = re.search(r'name="key"\s+value="([0-9a-f]{32})"', page).group(1)
    refused = client.post(
        url, data={"csrf_token": csrf, "template": "spring", "channel": "sms", "key": key}
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert messages(crm_app) == []
    unknown = client.post(
        f"/p/messaging/customers/{ids['maryam']}/send",
        data={"csrf_token": csrf, "template": "autumn", "channel": "sms", "key": key},
    )
    assert unknown.status_code == 422 and messages(crm_app) == []
    sent = client.post(
        f"/p/messaging/customers/{ids['maryam']}/send",
        data={"csrf_token": csrf, "template": "spring", "channel": "sms", "key": key},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith(
        f"/customers/{ids['maryam']}"
    )
    [(who, _status, body)] = messages(crm_app)
    assert who == ids["maryam"] and body.startswith("مریم عزیز")
    again = client.post(
        f"/p/messaging/customers/{ids['maryam']}/send",
        data={"csrf_token": csrf, "template": "spring", "channel": "sms", "key": key},
    )
    assert again.status_code == 422 and len(messages(crm_app)) == 1  # the same form: once
    for name in ("viewer", "outsider"):
        csrf = login(client, name, PASSWORD)
        assert url not in client.get(f"/customers/{ids['zahra']}").text
        assert client.post(url, data={"csrf_token": csrf, "template": "spring"}).status_code == 403
