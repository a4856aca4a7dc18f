"""Each channel against a real server on 127.0.0.1: SMTP (aiosmtpd; plain, STARTTLS, SSL, auth) and an HTTP
server shaped like the Kavenegar and Twilio SMS APIs."""

from datetime import timedelta

from crmcore_messaging.models import Message
from crmcore_messaging.outbox import deliver, queue_message
from crmcore_messaging.service import add_provider, save_template
from sqlalchemy import select

from crmcore.api import Interaction, get_customer


def queue(crm_app, customer_id, channel="sms", template="hello", key="k1"):
    with crm_app.unit_of_work() as uow:
        c = get_customer(uow.session, customer_id)
        return queue_message(
            uow, c, template=template, channel=channel, trigger="manual", key=key
        ).id


def message(crm_app, mid):
    with crm_app.unit_of_work(readonly=True) as uow:
        m = uow.session.get(Message, mid)
        uow.session.expunge(m)
        return m


def templates(setup):
    setup(
        lambda uow: save_template(
            uow, name="hello", channel="sms", body="سلام {{ first_name }}، به باشگاه خوش آمدید"
        )
    )
    setup(
        lambda uow: save_template(
            uow,
            name="hello",
            channel="email",
            subject="خوش آمدید {{ first_name }}",
            body="{{ name }} عزیز،\nعضویت شما از {{ member_since|jalali }} فعال است.",
        )
    )


# --- email ----------------------------------------------------------------------------------------------
def test_email_over_starttls_with_login(crm_app, customer, setup, smtp_server, tls_files):
    port, inbox = smtp_server("starttls", users={"shop": "s3cret"})
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="mail",
            kind="smtp",
            channel="email",
            options={
                "host": "127.0.0.1",
                "port": str(port),
                "security": "starttls",
                "username": "shop",
                "password": "s3cret",
                "sender": "club@shop.ir",
                "sender_name": "باشگاه مشتریان",
                "ca_file": str(tls_files[0]),
            },
        )
    )
    mid = queue(crm_app, customer, "email")
    m = message(crm_app, mid)
    assert m.status == "sent", m.error
    assert len(inbox.messages) == 1
    got = inbox.messages[0]
    assert got["to"] == ["maryam@example.ir"]
    assert got["message"]["Subject"] == "خوش آمدید مریم"
    assert "مریم رضایی عزیز" in got["message"].get_content()
    assert got["message"]["Message-ID"] == m.provider_message_id
    with crm_app.unit_of_work(readonly=True) as uow:
        logged = uow.session.scalars(select(Interaction).where(Interaction.kind == "message")).all()
        assert [(i.channel, i.direction, i.payload["message_id"]) for i in logged] == [
            ("email", "out", mid)
        ]


def test_email_over_implicit_tls(crm_app, customer, setup, smtp_server, tls_files):
    port, inbox = smtp_server("ssl")
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="mail",
            kind="smtp",
            channel="email",
            options={
                "host": "127.0.0.1",
                "port": str(port),
                "security": "ssl",
                "sender": "club@shop.ir",
                "ca_file": str(tls_files[0]),
            },
        )
    )
    assert message(crm_app, queue(crm_app, customer, "email")).status == "sent"
    assert len(inbox.messages) == 1


def test_wrong_smtp_password_fails_once_with_a_clear_error(
    crm_app, customer, setup, smtp_server, tls_files
):
    port, inbox = smtp_server("starttls", users={"shop": "s3cret"})
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="mail",
            kind="smtp",
            channel="email",
            options={
                "host": "127.0.0.1",
                "port": str(port),
                "username": "shop",
                "password": "wrong",
                "sender": "club@shop.ir",
                "ca_file": str(tls_files[0]),
            },
        )
    )
    m = message(crm_app, queue(crm_app, customer, "email"))
    assert (m.status, m.attempts) == ("failed", 1), m.error
    assert "login refused" in m.error
    assert inbox.messages == []


def test_untrusted_certificate_is_refused(crm_app, customer, setup, smtp_server):
    port, inbox = smtp_server("starttls")
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="mail",
            kind="smtp",
            channel="email",
            options={"host": "127.0.0.1", "port": str(port), "sender": "club@shop.ir"},
        )
    )
    m = message(crm_app, queue(crm_app, customer, "email"))
    assert m.status == "failed" and "TLS" in m.error
    assert inbox.messages == []


def test_smtp_server_down_is_retried_with_back_off_then_sent(crm_app, customer, setup, smtp_server):
    from .conftest import free_port

    port = free_port()
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="mail",
            kind="smtp",
            channel="email",
            options={
                "host": "127.0.0.1",
                "port": str(port),
                "security": "none",
                "sender": "club@shop.ir",
            },
        )
    )
    mid = queue(crm_app, customer, "email")
    m = message(crm_app, mid)
    assert (m.status, m.attempts) == ("queued", 1)
    assert "cannot reach SMTP server" in m.error
    assert m.next_attempt_at == crm_app.now() + timedelta(seconds=60)
    assert deliver(crm_app)["sent"] == 0  # not due yet
    crm_app.clock.advance(seconds=61)
    assert deliver(crm_app)["retrying"] == 1
    assert message(crm_app, mid).next_attempt_at == crm_app.now() + timedelta(
        seconds=120
    )  # doubled


# --- Kavenegar-shaped API -------------------------------------------------------------------------------
def kavenegar(setup, sms_api, **extra):
    setup(
        lambda uow: add_provider(
            uow,
            name="kn",
            kind="kavenegar",
            channel="sms",
            options={"url": sms_api.url, "api_key": "KEY", "sender": "10004346", **extra},
        )
    )


def test_kavenegar_sends_with_receptor_sender_and_localid(crm_app, customer, setup, sms_api):
    templates(setup)
    kavenegar(setup, sms_api)
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "sent" and m.provider_message_id == "8792343"
    assert sms_api.sent == [
        {
            "receptor": "09121234567",
            "message": "سلام مریم، به باشگاه خوش آمدید",
            "localid": str(mid),
            "sender": "10004346",
        }
    ]
    assert sms_api.requests[0]["path"] == "/v1/KEY/sms/send.json"


def test_kavenegar_permanent_error_is_recorded_not_retried(crm_app, customer, setup, sms_api):
    templates(setup)
    kavenegar(setup, sms_api)
    sms_api.script = [("error", 418, 418, "اعتبار حساب شما کافی نیست")]
    m = message(crm_app, queue(crm_app, customer))
    assert (m.status, m.attempts) == ("failed", 1), m.error
    assert m.error == "Kavenegar refused the message: 418 اعتبار حساب شما کافی نیست"
    crm_app.clock.advance(hours=1)
    deliver(crm_app)
    assert len(sms_api.requests) == 1


def test_kavenegar_bad_key_is_permanent(crm_app, customer, setup, sms_api):
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="kn",
            kind="kavenegar",
            channel="sms",
            options={"url": sms_api.url, "api_key": "WRONG"},
        )
    )
    m = message(crm_app, queue(crm_app, customer))
    assert m.status == "failed" and "403" in m.error


def test_kavenegar_server_error_is_retried_until_it_works(crm_app, customer, setup, sms_api):
    templates(setup)
    kavenegar(setup, sms_api)
    sms_api.script = [
        ("error", 502, 502, "bad gateway"),
        ("error", 200, 409, "سرور قادر به پاسخگویی نیست"),
    ]
    mid = queue(crm_app, customer)
    assert message(crm_app, mid).status == "queued"
    crm_app.clock.advance(minutes=1, seconds=1)
    deliver(crm_app)
    assert message(crm_app, mid).status == "queued"
    crm_app.clock.advance(minutes=2, seconds=1)
    deliver(crm_app)
    m = message(crm_app, mid)
    assert (m.status, m.attempts) == ("sent", 3)
    assert len(sms_api.sent) == 1


def test_kavenegar_timeout_is_retried_safely_thanks_to_localid(crm_app, customer, setup, sms_api):
    templates(setup)
    kavenegar(setup, sms_api, timeout="1")
    sms_api.script = [("sleep", 1.5)]  # the provider sends, but answers too late
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "queued" and "did not answer" in m.error
    crm_app.clock.advance(minutes=2)
    deliver(crm_app)
    m = message(crm_app, mid)
    assert m.status == "sent" and m.provider_message_id == "8792343"
    assert len(sms_api.requests) == 2 and len(sms_api.sent) == 1  # one SMS reached the phone


def test_api_key_from_the_environment(crm_app, customer, setup, sms_api, monkeypatch):
    templates(setup)
    setup(
        lambda uow: add_provider(
            uow,
            name="kn",
            kind="kavenegar",
            channel="sms",
            options={"url": sms_api.url, "api_key": "env:TEST_KN_KEY"},
        )
    )
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "failed" and "TEST_KN_KEY, which is not set" in m.error
    monkeypatch.setenv("TEST_KN_KEY", "KEY")
    assert message(crm_app, queue(crm_app, customer, key="k2")).status == "sent"


# --- Twilio-shaped API ----------------------------------------------------------------------------------
def twilio(setup, sms_api, **extra):
    setup(
        lambda uow: add_provider(
            uow,
            name="tw",
            kind="twilio",
            channel="sms",
            options={
                "url": sms_api.url,
                "account_sid": "AC123",
                "auth_token": "TOKEN",
                "sender": "+15005550006",
                "status_callback": "https://crm.example/messaging/twilio/status?token=t",
                **extra,
            },
        )
    )


def test_twilio_sends_with_basic_auth_and_status_callback(crm_app, customer, setup, sms_api):
    templates(setup)
    twilio(setup, sms_api)
    m = message(crm_app, queue(crm_app, customer))
    assert m.status == "sent" and m.provider_message_id.startswith("SM")
    req = sms_api.requests[0]
    assert req["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert req["form"] == {
        "To": "+989121234567",
        "From": "+15005550006",
        "Body": "سلام مریم، به باشگاه خوش آمدید",
        "StatusCallback": "https://crm.example/messaging/twilio/status?token=t",
    }


def test_twilio_invalid_number_fails_and_rate_limit_retries(crm_app, customer, setup, sms_api):
    templates(setup)
    twilio(setup, sms_api)
    sms_api.script = [
        ("error", 400, 21211, "The 'To' number is not a valid phone number."),
        ("error", 429, 20429, "Too Many Requests"),
    ]
    first = message(crm_app, queue(crm_app, customer, key="a"))
    assert first.status == "failed"
    assert first.error == (
        "Twilio refused the message (HTTP 400): 21211 The 'To' number is not a valid phone number."
    )
    second = queue(crm_app, customer, key="b")
    assert message(crm_app, second).status == "queued"
    crm_app.clock.advance(minutes=5)
    deliver(crm_app)
    assert message(crm_app, second).status == "sent"


def test_twilio_timeout_is_unknown_and_never_resent(crm_app, customer, setup, sms_api):
    templates(setup)
    twilio(setup, sms_api, timeout="1")
    sms_api.script = [("sleep", 1.5)]
    mid = queue(crm_app, customer)
    m = message(crm_app, mid)
    assert m.status == "unknown" and "may have sent" in m.error
    for _ in range(3):
        crm_app.clock.advance(hours=1)
        deliver(crm_app)
    assert len(sms_api.requests) == 1


def test_file_channel_for_development(crm_app, customer, setup, tmp_path):
    import json

    templates(setup)
    path = tmp_path / "out.jsonl"
    setup(
        lambda uow: add_provider(
            uow, name="dev", kind="file", channel="sms", options={"path": str(path)}
        )
    )
    mid = queue(crm_app, customer)
    assert message(crm_app, mid).status == "delivered"
    line = json.loads(path.read_text(encoding="utf-8"))
    assert (line["id"], line["to"], line["body"]) == (
        mid,
        "+989121234567",
        "سلام مریم، به باشگاه خوش آمدید",
    )
