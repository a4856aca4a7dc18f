"""The `crm messages …` CLI, the webhook server, the report, the profile section, merge, forget and the demo."""

import json
import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from crmcore_messaging.models import Message
from crmcore_messaging.service import add_provider, save_template
from sqlalchemy import select

from crmcore.api import forget_customer, get_customer, merge_customers, profile_sections
from crmcore.testing import make_customer

from .conftest import at_tehran


@pytest.fixture
def configured(crm_app, crm_cli, customer, tmp_path):
    at_tehran(crm_app, 2025, 5, 1, 12)
    out = tmp_path / "sms.jsonl"
    assert (
        crm_cli(
            "messages",
            "providers",
            "add",
            "dev",
            "--kind",
            "file",
            "--channel",
            "sms",
            "--option",
            f"path={out}",
        ).exit_code
        == 0
    )
    r = crm_cli(
        "messages", "templates", "add", "welcome", "--body", "سلام {{ first_name }}، خوش آمدید"
    )
    assert r.exit_code == 0, r.stderr
    # the CLI runs on the real clock: promotional SMS must not wait for the morning when tests run at night
    assert crm_cli("messages", "settings", "set", "quiet_hours", "off").exit_code == 0
    return out


def test_cli_templates_send_and_log(crm_cli, configured, customer):
    listed = crm_cli("messages", "templates", "list", "--json").json()
    assert [(t["name"], t["channel"], t["language"]) for t in listed] == [("welcome", "sms", "fa")]
    sent = crm_cli("messages", "send", "09121234567", "--template", "welcome", "--json")
    assert sent.exit_code == 0, sent.stderr
    assert sent.json()["status"] == "delivered" and sent.json()["body"] == "سلام مریم، خوش آمدید"
    log = crm_cli("messages", "log", str(customer), "--json").json()
    assert [(m["template"], m["status"]) for m in log] == [("welcome", "delivered")]
    preview = crm_cli("messages", "templates", "preview", "welcome", str(customer), "--json").json()
    assert preview["body"] == "سلام مریم، خوش آمدید"
    assert (
        json.loads(configured.read_text(encoding="utf-8").splitlines()[0])["to"] == "+989121234567"
    )


def test_cli_errors_are_one_line_and_change_nothing(crm_cli, crm_app, configured, customer):
    r = crm_cli("messages", "templates", "add", "evil", "--body", "{{ name.__class__.__mro__ }}")
    assert (
        r.exit_code == 1
        and "sandbox forbids" in r.stderr
        and len(r.stderr.strip().splitlines()) == 1
    )
    r = crm_cli("messages", "send", str(customer), "--template", "nope")
    assert r.exit_code == 1 and "no sms template named 'nope'" in r.stderr
    nobody = make_customer(crm_app, "بدون رضایت", phones=["09359999999"])
    r = crm_cli("messages", "send", str(nobody), "--template", "welcome")
    assert r.exit_code == 1 and "has not opted in to sms" in r.stderr
    r = crm_cli("messages", "settings", "set", "quiet_hours", "late")
    assert r.exit_code == 1 and "quiet_hours" in r.stderr
    r = crm_cli(
        "messages",
        "providers",
        "add",
        "x",
        "--kind",
        "twilio",
        "--channel",
        "sms",
        "--option",
        "url=http://x",
    )
    assert r.exit_code == 1 and "needs the option 'account_sid'" in r.stderr
    assert crm_cli("messages", "log", "--json").json() == []


def test_cli_campaign_triggers_occasions_consent(crm_cli, crm_app, configured, customer):
    assert (
        crm_cli(
            "messages",
            "templates",
            "add",
            "promo",
            "--category",
            "promotional",
            "--body",
            "{{ first_name }}: تخفیف {{ campaign }}",
        ).exit_code
        == 0
    )
    r = crm_cli(
        "messages",
        "campaigns",
        "create",
        "vip",
        "--template",
        "promo",
        "--where",
        "city=تهران",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    assert crm_cli("messages", "campaigns", "count", "vip", "--json").json()["would_send"] == 1
    assert (
        crm_cli("messages", "campaigns", "preview", "vip", str(customer), "--json").json()["body"]
        == "مریم: تخفیف vip"
    )
    assert crm_cli("messages", "campaigns", "run", "vip", "--json").json()["queued"] == 1
    shown = crm_cli("messages", "campaigns", "show", "vip", "--json").json()
    assert shown["status"] == "done" and shown["messages"] == {"delivered": 1}, shown
    assert (
        crm_cli("messages", "triggers", "set", "purchase", "--template", "welcome").exit_code == 0
    )
    assert crm_cli("messages", "triggers", "list", "--json").json() == [
        {"event": "purchase", "channel": "sms", "template": "welcome", "enabled": True}
    ]
    assert (
        crm_cli(
            "messages", "occasions", "add", "yalda", "--date", "09-30", "--template", "promo"
        ).exit_code
        == 1
    )
    assert (
        crm_cli(
            "messages", "templates", "add", "yalda", "--body", "یلدا مبارک {{ occasion }}"
        ).exit_code
        == 0
    )
    assert (
        crm_cli(
            "messages", "occasions", "add", "yalda", "--date", "09-30", "--template", "yalda"
        ).exit_code
        == 0
    )
    assert crm_cli("messages", "occasions", "list", "--json").json()[0]["date"] == "09-30"
    r = crm_cli("messages", "templates", "remove", "yalda")
    assert r.exit_code == 1 and "used by occasion yalda" in r.stderr
    assert (
        crm_cli("messages", "consent", str(customer), "--channel", "sms", "--opt-out").exit_code
        == 0
    )
    r = crm_cli("messages", "send", str(customer), "--template", "welcome")
    assert r.exit_code == 1
    out = crm_cli("messages", "inbound", "--from", "09121234567", "--text", "STOP", "--json").json()
    assert out["opt_out"] is True and out["opted_out"] == []  # already out
    jobs = crm_cli("jobs", "list", "--json").json()
    assert {"messaging.campaigns", "messaging.dates", "messaging.deliver"} <= {
        j["name"] for j in jobs
    }


def test_cli_group_is_reachable_as_crm_messages(crm_cli):
    r = crm_cli("--help")
    assert "messages" in r.stdout
    assert "templates" in crm_cli("messages", "--help").stdout


def test_report_and_profile(crm_app, crm_cli, configured, customer):
    crm_cli("messages", "send", str(customer), "--template", "welcome")
    nobody = make_customer(crm_app, "بدون رضایت", phones=["09359999999"])
    with crm_app.unit_of_work() as uow:
        from crmcore_messaging.outbox import queue_message

        queue_message(
            uow,
            get_customer(uow.session, nobody),
            template="welcome",
            channel="sms",
            trigger="manual",
            key="x",
        )
    r = crm_cli("reports", "run", "messages.delivery", "--json")
    assert r.exit_code == 0, r.stderr
    report = r.json()
    assert report["columns"][:2] == ["period", "channel"]
    assert (
        report["totals"]["delivered"] == 1
        and report["totals"]["blocked"] == 1
        and report["totals"]["total"] == 2
    )
    with crm_app.unit_of_work(readonly=True) as uow:
        [section] = [
            s
            for s in profile_sections(uow, get_customer(uow.session, customer))
            if s.key == "messaging"
        ]
    assert section.data["consent"] == {"sms": True, "email": True}
    assert section.data["messages"] == {"delivered": 1}
    from crmcore.testing import assert_persian_panel, panel_html

    html = panel_html(crm_app, customer, "messaging", lang="fa")
    assert_persian_panel(html)
    assert "تحویل شد" in html and "اجازهٔ پیامک" in html


def test_merge_moves_messages_and_forget_erases_texts(crm_app, configured, customer, crm_cli):
    crm_cli("messages", "send", str(customer), "--template", "welcome")
    twin = make_customer(crm_app, "مریم رضایی ۲", phones=["09350000000"])
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, twin, customer)
    with crm_app.unit_of_work() as uow:
        assert [m.customer_id for m in uow.session.scalars(select(Message))] == [twin]
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, twin)
    with crm_app.unit_of_work(readonly=True) as uow:
        m = uow.session.scalars(select(Message)).one()
        assert (m.recipient, m.body, m.status) == (None, "", "delivered")


# --- webhooks on a real HTTP server ---------------------------------------------------------------------
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def webhooks(crm_app):
    from crmcore_messaging.webhooks import WebhookApp

    server = make_server("127.0.0.1", 0, WebhookApp(crm_app), handler_class=Quiet)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(url, form):
    data = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in form.items()).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_webhooks_apply_delivery_reports_and_inbound_opt_outs(
    crm_app, customer, setup, sms_api, webhooks
):
    from crmcore_messaging.outbox import queue_message
    from crmcore_messaging.settings import set_setting

    at_tehran(crm_app, 2025, 5, 1, 12)
    setup(lambda uow: set_setting(uow, "webhook_token", "t0ken"))
    setup(lambda uow: save_template(uow, name="info", channel="sms", body="سفارش آماده است"))
    setup(
        lambda uow: add_provider(
            uow,
            name="kn",
            kind="kavenegar",
            channel="sms",
            options={"url": sms_api.url, "api_key": "KEY"},
        )
    )
    with crm_app.unit_of_work() as uow:
        mid = queue_message(
            uow,
            get_customer(uow.session, customer),
            template="info",
            channel="sms",
            trigger="manual",
            key="w",
        ).id
    assert (
        post(f"{webhooks}/messaging/kavenegar/status", {"messageid": "8792343", "status": "10"})[0]
        == 403
    )
    code, body = post(
        f"{webhooks}/messaging/kavenegar/status?token=t0ken",
        {"messageid": "8792343", "status": "10"},
    )
    assert code == 200 and json.loads(body) == {
        "message_id": mid,
        "status": "delivered",
        "changed": True,
    }
    # a late 'sent' report never downgrades a delivered message
    post(
        f"{webhooks}/messaging/kavenegar/status?token=t0ken",
        {"messageid": "8792343", "status": "4"},
    )
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import Interaction

        m = uow.session.get(Message, mid)
        assert m.status == "delivered" and m.delivered_at is not None
        assert uow.session.get(Interaction, m.interaction_id).payload["status"] == "delivered"
        # the 360° timeline's entry for the message says it was delivered (crm_interaction_details)
        from crmcore.testing import customer_timeline

        page = customer_timeline(uow, get_customer(uow.session, customer), only="kernel")
        [entry] = [e for _p, e in page.entries if e.title.en == "message"]
        assert (entry.detail.en, entry.detail.fa) == (
            "delivered · سفارش آماده است",
            "رسید · سفارش آماده است",
        )
    code, body = post(
        f"{webhooks}/messaging/kavenegar/status?token=t0ken", {"messageid": "404", "status": "10"}
    )
    assert code == 400 and "no message sent through kavenegar" in json.loads(body)["error"]
    code, body = post(
        f"{webhooks}/messaging/twilio/inbound?token=t0ken",
        {"From": "+989121234567", "Body": "Stop"},
    )
    assert code == 200 and "<Response/>" in body
    with crm_app.unit_of_work(readonly=True) as uow:
        assert get_customer(uow.session, customer).consent_sms is False


def test_demo_seed(tmp_path):
    from crmcore.testing import build_demo

    result = build_demo(tmp_path / "demo.db", customers=15)
    [line] = [x for x in result["lines"] if x.startswith("messaging:")]
    assert "campaign vip-saffron" in line
    sent = (tmp_path / "demo.messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert sent and all(json.loads(x)["body"] for x in sent)


def test_a_nul_in_a_template_body_is_refused_and_nothing_stored(crm_app, crm_cli):
    from crmcore_messaging.models import Template

    result = crm_cli(
        "messages", "templates", "add", "welcome", "--body", "سلام\x00 {{ first_name }}"
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "field body" in lines[0] and "U+0000" in lines[0]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalars(select(Template)).first() is None
