"""Iran's SMS gateways (Kavenegar, Ghasedak, SMS.ir, Melipayamak) against local fake servers that follow each
gateway's documented shapes (fake_gateways.py): delivery by callback and by polling, failure reasons, the
advertising blacklist, service vs advertising lines, retries that never send twice, bulk and template sends."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from crmcore_messaging.channels import Outgoing, build_channel
from crmcore_messaging.delivery import poll_reports
from crmcore_messaging.models import ConsentChange, Message
from crmcore_messaging.outbox import deliver, queue_message
from crmcore_messaging.service import add_provider, save_template
from crmcore_messaging.settings import set_setting
from sqlalchemy import select

from crmcore.api import get_customer
from crmcore.testing import make_customer

from .conftest import at_tehran
from .fake_gateways import start

KINDS = ["kavenegar", "ghasedak", "smsir", "melipayamak"]


@pytest.fixture
def gateway():
    servers = []

    def run(kind):
        gw, server = start(kind)
        servers.append(server)
        return gw

    yield run
    for server in servers:
        server.shutdown()
        server.server_close()


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def webhooks(crm_app):
    from crmcore_messaging.webhooks import WebhookApp

    server = make_server("127.0.0.1", 0, WebhookApp(crm_app), handler_class=Quiet)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def configure(crm_app, setup, gw, **extra):
    at_tehran(crm_app, 2025, 5, 1, 12)  # noon: promotional SMS are not held for quiet hours
    setup(
        lambda uow: add_provider(
            uow, name="gw", kind=gw.kind, channel="sms", options=gw.options(**extra)
        )
    )
    setup(lambda uow: save_template(uow, name="ready", channel="sms", body="سفارش شما آماده است"))
    setup(
        lambda uow: save_template(
            uow, name="sale", channel="sms", body="حراج یلدا: ۲۰٪ تخفیف", category="promotional"
        )
    )


def queue(crm_app, customer_id, template="ready", key="k1"):
    with crm_app.unit_of_work() as uow:
        c = get_customer(uow.session, customer_id)
        return queue_message(uow, c, template=template, channel="sms", trigger="manual", key=key).id


def message(crm_app, mid):
    with crm_app.unit_of_work(readonly=True) as uow:
        m = uow.session.get(Message, mid)
        uow.session.expunge(m)
        return m


@pytest.mark.parametrize("kind", KINDS)
def test_sent_sms_reaches_delivered_by_polling(crm_app, customer, setup, gateway, kind):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "sent" and m.provider_message_id == gw.sms[0]["id"], m.error
    assert (
        gw.sms[0]["receptor"] == "09121234567" and gw.sms[0]["line"] == "30005006"
    )  # service line
    assert poll_reports(crm_app, crm_app.now())["delivered"] == 0  # still on its way
    assert message(crm_app, mid).status == "sent"
    gw.settle("delivered")
    assert poll_reports(crm_app, crm_app.now()) == {
        "asked": 1,
        "delivered": 1,
        "failed": 0,
        "found": 0,
        "errors": 0,
    }
    m = message(crm_app, mid)
    assert m.status == "delivered" and m.delivered_at is not None
    assert (
        poll_reports(crm_app, crm_app.now())["asked"] == 0
    )  # delivered messages are not asked again


@pytest.mark.parametrize("kind", KINDS)
def test_sent_sms_reaches_delivered_by_callback(crm_app, customer, setup, gateway, webhooks, kind):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    setup(lambda uow: set_setting(uow, "webhook_token", "t0ken"))
    mid = queue(crm_app, customer)
    gw.settle("delivered")
    [refused] = gw.push_callbacks(f"{webhooks}/messaging/{kind}/status?token=wrong")
    assert refused.status_code == 403 and message(crm_app, mid).status == "sent"
    [answer] = gw.push_callbacks(f"{webhooks}/messaging/{kind}/status?token=t0ken")
    assert answer.status_code == 200, answer.text
    assert message(crm_app, mid).status == "delivered"


@pytest.mark.parametrize("kind", KINDS)
def test_failed_report_shows_the_gateways_reason(crm_app, customer, setup, gateway, kind):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    mid = queue(crm_app, customer)
    gw.settle("failed")
    assert poll_reports(crm_app, crm_app.now())["failed"] == 1
    m = message(crm_app, mid)
    assert m.status == "failed" and m.error.startswith(f"{kind}: not delivered"), m.error
    gw.settle("delivered")  # a later report never overturns a final status
    poll_reports(crm_app, crm_app.now())
    assert message(crm_app, mid).status == "failed"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("via", ["poll", "callback"])
def test_blacklisted_number_withdraws_sms_marketing_consent(
    crm_app, customer, setup, gateway, webhooks, kind, via
):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    setup(lambda uow: set_setting(uow, "webhook_token", "t0ken"))
    gw.blacklist.add("09121234567")
    mid = queue(crm_app, customer, template="sale")
    assert (
        gw.sms[0]["line"] == "50002000"
    )  # campaigns and other promotional SMS: the advertising line
    gw.settle("delivered")
    if via == "poll":
        poll_reports(crm_app, crm_app.now())
    else:
        assert (
            gw.push_callbacks(f"{webhooks}/messaging/{kind}/status?token=t0ken")[0].status_code
            == 200
        )
    m = message(crm_app, mid)
    assert m.status == "failed" and (
        "blacklist" in m.error or "blocked by the recipient" in m.error
    ), m.error
    with crm_app.unit_of_work(readonly=True) as uow:
        [change] = uow.session.scalars(select(ConsentChange)).all()
        assert (change.customer_id, change.channel, change.granted) == (
            customer,
            "sms_promo",
            False,
        )
        assert change.source == f"blacklist:{kind}:{via}" and "+989121234567" in change.detail
        assert get_customer(uow.session, customer).consent_sms is True  # service SMS still allowed
    blocked = message(crm_app, queue(crm_app, customer, template="sale", key="k2"))
    assert blocked.status == "blocked" and "blocked advertising SMS" in blocked.error
    receipt = message(crm_app, queue(crm_app, customer, template="ready", key="k3"))
    assert receipt.status == "sent" and gw.sms[-1]["line"] == "30005006"
    assert len(gw.sms) == 2


@pytest.mark.parametrize("kind", ["kavenegar", "ghasedak"])
def test_retry_after_a_timeout_sends_once_with_the_local_id(
    crm_app, customer, setup, gateway, kind
):
    gw = gateway(kind)
    configure(crm_app, setup, gw, timeout="1")
    gw.script = [("sleep", 1.5)]  # the gateway sends, but answers too late
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "queued" and "did not answer" in m.error, m.error
    crm_app.clock.advance(minutes=2)
    deliver(crm_app)
    m = message(crm_app, mid)
    assert m.status == "sent" and m.provider_message_id == gw.sms[0]["id"], m.error
    assert len(gw.sms) == 1  # one SMS reached the phone
    assert gw.sms[0]["ref"] == str(mid)


@pytest.mark.parametrize("kind", ["smsir", "melipayamak"])
def test_timeout_without_a_local_id_is_unknown_and_never_resent(
    crm_app, customer, setup, gateway, kind
):
    gw = gateway(kind)
    configure(crm_app, setup, gw, timeout="1")
    gw.script = [("sleep", 1.5)]
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "unknown" and "not resent" in m.error, m.error
    crm_app.clock.advance(hours=1)
    deliver(crm_app)
    assert message(crm_app, mid).status == "unknown" and len(gw.sms) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_gateway_busy_is_retried_and_a_refusal_is_final(crm_app, customer, setup, gateway, kind):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    busy = {
        "kavenegar": {"return": {"status": 409, "message": "busy"}, "entries": None},
        "ghasedak": {"isSuccess": False, "statusCode": 500, "message": "busy"},
        "smsir": {"status": 0, "message": "busy", "data": None},
        "melipayamak": {"Value": ""},
    }[kind]
    gw.script = [("error", 500, busy)]
    mid = queue(crm_app, customer)
    assert message(crm_app, mid).status == "queued"
    crm_app.clock.advance(minutes=2)
    deliver(crm_app)
    assert message(crm_app, mid).status == "sent" and len(gw.sms) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_sends_a_batch_in_one_request(crm_app, setup, gateway, kind):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    setup(lambda uow: set_setting(uow, "send_after_commit", "no"))
    ids = [
        make_customer(crm_app, f"مشتری {i}", phones=[f"0912000000{i}"], consent_sms=True)
        for i in range(3)
    ]
    mids = [queue(crm_app, cid, key=f"b{cid}") for cid in ids]
    assert deliver(crm_app)["sent"] == 3
    sends = [r for r in gw.requests if not r["path"].endswith(("status.json", "CheckSmsStatus"))]
    assert len(sends) == 1, [r["path"] for r in sends]
    got = {message(crm_app, m).provider_message_id for m in mids}
    assert got == {s["id"] for s in gw.sms} and len(got) == 3
    gw.settle("delivered")
    assert poll_reports(crm_app, crm_app.now())["delivered"] == 3


TEMPLATES = {"kavenegar": "verify", "ghasedak": "newOTP", "smsir": "100200", "melipayamak": "48211"}


@pytest.mark.parametrize("kind", KINDS)
def test_template_lookup_sends_the_code(gateway, kind):
    gw = gateway(kind)
    channel = build_channel(kind, gw.options())
    out = Outgoing(message_id=7, channel="sms", recipient="+989121234567", body="")
    result = channel.send_template(out, TEMPLATES[kind], {"Code": "4821"})
    assert result.provider_message_id == gw.sms[0]["id"]
    assert gw.sms[0]["receptor"] == "09121234567" and "4821" in gw.sms[0]["text"]
    assert gw.sms[0]["template"] == TEMPLATES[kind]
    assert channel.check().startswith("credit ")
    channel.close()


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_credentials_are_a_clear_permanent_failure(crm_app, customer, setup, gateway, kind):
    gw = gateway(kind)
    wrong = {"password": "nope"} if kind == "melipayamak" else {"api_key": "nope"}
    configure(crm_app, setup, gw, **wrong)
    m = message(crm_app, queue(crm_app, customer))
    assert m.status == "failed" and m.attempts == 1, m.error
    assert "nope" not in m.error and not gw.sms


# --- crm integrations -----------------------------------------------------------------------------------
def test_integrations_list_test_and_status_never_print_secrets(
    crm_app, crm_cli, customer, setup, gateway, monkeypatch
):
    kn, gh, mp = gateway("kavenegar"), gateway("ghasedak"), gateway("melipayamak")
    monkeypatch.setenv("GHASEDAK_KEY", "KEY")
    configure(crm_app, setup, kn)  # api_key stored literally: shown as ***
    setup(
        lambda uow: add_provider(
            uow,
            name="gh",
            kind="ghasedak",
            channel="sms",
            options=gh.options(api_key="env:GHASEDAK_KEY"),
        )
    )
    setup(
        lambda uow: add_provider(
            uow,
            name="mp",
            kind="melipayamak",
            channel="sms",
            options=mp.options(password="S3cretPass"),
        )
    )
    queue(crm_app, customer)
    kn.settle("delivered")
    poll_reports(crm_app, crm_app.now())

    listed = crm_cli("integrations", "list")
    assert listed.exit_code == 0
    text = listed.stdout
    assert "messaging.gw (kavenegar)\n    sms provider (default), service line 30005006" in text
    assert (
        "api_key: ***" in text and "api_key: env:GHASEDAK_KEY" in text and "password: ***" in text
    )
    assert ": KEY\n" not in text and "S3cretPass" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    as_json = crm_cli("integrations", "list", "--json").json()
    assert [i["name"] for i in as_json] == ["messaging.gh", "messaging.gw", "messaging.mp"]

    tested = crm_cli("integrations", "test", "--json")
    assert tested.exit_code == 1  # the Melipayamak password is wrong
    results = {r["name"]: r for r in tested.json()}
    assert results["messaging.gw"] == {
        "name": "messaging.gw",
        "kind": "kavenegar",
        "ok": True,
        "detail": "credit 125000",
    }
    assert results["messaging.gh"]["ok"] and results["messaging.gh"]["detail"] == "credit 98000"
    assert (
        not results["messaging.mp"]["ok"] and "InvalidUserPass" in results["messaging.mp"]["detail"]
    )
    one = crm_cli("integrations", "test", "messaging.gh")
    assert (one.exit_code, one.stdout) == (0, "messaging.gh: ok\n    credit 98000\n")
    missing = crm_cli("integrations", "test", "messaging.nope")
    assert missing.exit_code == 1 and "unknown integration 'messaging.nope'" in missing.stderr

    status = {r["name"]: r for r in crm_cli("integrations", "status", "--json").json()}
    assert status["messaging.gw"]["delivered"] == 1 and status["messaging.gh"]["sent"] == 0
    text = crm_cli("integrations", "status", "messaging.gw").stdout
    assert text == (
        "messaging.gw (kavenegar)\n    last 30 days: queued 0, sending 0, sent 0, delivered 1, "
        "failed 0,\n    unknown 0\n"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_lookup_command_sends_a_gateway_template_once(
    crm_app, crm_cli, customer, setup, gateway, kind
):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    args = (
        "messages",
        "lookup",
        str(customer),
        TEMPLATES[kind],
        "--param",
        "Code=7305",
        "--key",
        "otp-1",
    )
    first = crm_cli(*args, "--json")
    assert first.exit_code == 0, first.stderr
    out = first.json()
    assert (out["status"], out["trigger"], out["provider_message_id"]) == (
        "sent",
        "lookup",
        gw.sms[0]["id"],
    )
    assert (
        "7305" not in out["body"] and "7305" in gw.sms[0]["text"]
    )  # one-time codes are not stored
    assert crm_cli(*args).stdout == f"message {out['id']}: sent\n" and len(gw.sms) == 1
    gw.settle("delivered")
    poll_reports(crm_app, crm_app.now())
    assert message(crm_app, out["id"]).status == "delivered"
    with crm_app.unit_of_work() as uow:
        from crmcore.api import update_customer

        update_customer(uow, customer, consent_sms=False)
    refused = crm_cli("messages", "lookup", str(customer), TEMPLATES[kind], "--param", "Code=1")
    assert (
        refused.exit_code == 1 and "has not opted in to sms" in refused.stderr and len(gw.sms) == 1
    )


def test_advertising_consent_can_be_given_back_by_hand(crm_app, crm_cli, customer, setup, gateway):
    gw = gateway("smsir")
    configure(crm_app, setup, gw)
    out = crm_cli(
        "messages", "consent", str(customer), "--channel", "sms", "--opt-out", "--advertising"
    )
    assert out.stdout == f"customer {customer}: advertising sms opted out\n"
    assert message(crm_app, queue(crm_app, customer, template="sale")).status == "blocked"
    assert message(crm_app, queue(crm_app, customer, key="k2")).status == "sent"
    crm_cli(
        "messages",
        "consent",
        str(customer),
        "--channel",
        "sms",
        "--opt-in",
        "--advertising",
        "--note",
        "lifted *800#",
    )
    assert message(crm_app, queue(crm_app, customer, template="sale", key="k3")).status == "sent"
    with crm_app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        assert [(r.channel, r.granted, r.source) for r in rows] == [
            ("sms_promo", False, "cli"),
            ("sms_promo", True, "cli"),
        ]
        assert get_customer(uow.session, customer).consent_sms is True
    bad = crm_cli(
        "messages", "consent", str(customer), "--channel", "email", "--opt-in", "--advertising"
    )
    assert bad.exit_code == 2 and "--advertising applies to --channel sms" in bad.stderr


@pytest.mark.parametrize("kind", ["kavenegar", "ghasedak"])
def test_unknown_message_the_gateway_has_is_found_by_local_id(
    crm_app, customer, setup, gateway, kind
):
    gw = gateway(kind)
    configure(crm_app, setup, gw)
    setup(lambda uow: set_setting(uow, "send_after_commit", "no"))
    taken, lost = queue(crm_app, customer), queue(crm_app, customer, key="k2")
    deliver(crm_app, ids=[taken])
    with (
        crm_app.unit_of_work() as uow
    ):  # the process stopped after the gateway took one, before recording
        for mid in (taken, lost):
            m = uow.session.get(Message, mid)
            m.status, m.provider_message_id, m.error = (
                "unknown",
                None,
                "the sending process stopped",
            )
    totals = poll_reports(crm_app, crm_app.now())
    assert totals["found"] == 1
    found = message(crm_app, taken)
    assert (found.status, found.provider_message_id, found.error) == ("sent", gw.sms[0]["id"], None)
    assert message(crm_app, lost).status == "unknown" and len(gw.sms) == 1  # never resent
    gw.settle("delivered")
    poll_reports(crm_app, crm_app.now())
    assert message(crm_app, taken).status == "delivered"
