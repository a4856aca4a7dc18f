"""Consent, opt-out keywords, quiet hours, frequency cap, rate limits, idempotency and stale sends."""

import pytest
from crmcore_messaging.inbound import handle_inbound_sms
from crmcore_messaging.models import ConsentChange, Message
from crmcore_messaging.outbox import deliver, queue_message
from crmcore_messaging.policy import set_consent
from crmcore_messaging.service import add_provider, save_template
from crmcore_messaging.settings import set_setting
from sqlalchemy import func, select

from crmcore.api import Conflict, Interaction, ValidationError, get_customer
from crmcore.testing import make_customer

from .conftest import at_tehran


@pytest.fixture
def sms(crm_app, setup, sms_api):
    setup(
        lambda uow: save_template(
            uow,
            name="promo",
            channel="sms",
            body="تخفیف ویژه {{ first_name }}",
            category="promotional",
        )
    )
    setup(lambda uow: save_template(uow, name="info", channel="sms", body="سفارش شما آماده است"))
    setup(
        lambda uow: save_template(
            uow,
            name="promo",
            channel="email",
            subject="تخفیف",
            body="تخفیف ویژه",
            category="promotional",
        )
    )
    setup(
        lambda uow: add_provider(
            uow,
            name="kn",
            kind="kavenegar",
            channel="sms",
            options={"url": sms_api.url, "api_key": "KEY"},
        )
    )
    setup(
        lambda uow: add_provider(
            uow, name="dev", kind="file", channel="email", options={"path": "/dev/null"}
        )
    )
    return sms_api


def queue(app, cid, template="promo", key="k", channel="sms", strict=False):
    with app.unit_of_work() as uow:
        m = queue_message(
            uow,
            get_customer(uow.session, cid),
            template=template,
            channel=channel,
            trigger="manual",
            key=key,
            strict=strict,
        )
        return m.id


def status(app, mid):
    with app.unit_of_work(readonly=True) as uow:
        m = uow.session.get(Message, mid)
        return m.status, m.error


def count(app, model):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_no_consent_is_blocked_and_recorded_or_refused_when_strict(crm_app, sms):
    cid = make_customer(crm_app, "بی‌رضایت", phones=["09120000001"])
    assert status(crm_app, queue(crm_app, cid)) == (
        "blocked",
        f"customer {cid} has not opted in to sms (or opted out)",
    )
    with pytest.raises(ValidationError, match="has not opted in to sms"):
        queue(crm_app, cid, key="other", strict=True)
    assert count(crm_app, Message) == 1 and sms.requests == []


def test_customer_without_a_mobile_gets_a_clear_error(crm_app, sms):
    cid = make_customer(crm_app, "تلفن ثابت", phones=["021 8888 8888"], consent_sms=True)
    with pytest.raises(ValidationError, match=f"customer {cid} has no mobile phone for SMS"):
        queue(crm_app, cid, strict=True)
    assert count(crm_app, Message) == 0


def test_opt_out_keyword_from_inbound_sms(crm_app, customer, sms):
    set_setting_quiet_off(crm_app)
    with crm_app.unit_of_work() as uow:
        out = handle_inbound_sms(uow, "+98 912 123 4567", "  لغو  ", provider="kavenegar")
    assert out == {
        "from": "+989121234567",
        "customers": [customer],
        "opt_out": True,
        "opted_out": [customer],
    }
    with crm_app.unit_of_work(readonly=True) as uow:
        assert get_customer(uow.session, customer).consent_sms is False
        change = uow.session.scalars(select(ConsentChange)).one()
        assert (change.channel, change.granted, change.source) == (
            "sms",
            False,
            "inbound_sms:kavenegar",
        )
        inbound = uow.session.scalars(
            select(Interaction).where(Interaction.direction == "in")
        ).one()
        assert inbound.payload["text"] == "  لغو  "
    assert status(crm_app, queue(crm_app, customer))[0] == "blocked"
    assert sms.requests == []


@pytest.mark.parametrize(
    "text, opted",
    [
        ("STOP", True),
        ("stop please", True),
        ("لغو۱۱", True),
        ("STOP2", True),
        ("stopper", False),
        ("لغو 11", True),
        ("انصراف", True),
        ("ممنون از پیام", False),
        ("", False),
    ],
)
def test_opt_out_keywords(crm_app, customer, text, opted):
    with crm_app.unit_of_work() as uow:
        assert handle_inbound_sms(uow, "09121234567", text)["opt_out"] is opted


def set_setting_quiet_off(app):
    with app.unit_of_work() as uow:
        set_setting(uow, "quiet_hours", "off")


def test_opt_out_after_queueing_blocks_the_send(crm_app, customer, sms):
    with crm_app.unit_of_work() as uow:
        set_setting(uow, "send_after_commit", "no")
    at_tehran(crm_app, 2025, 5, 1, 12)
    mid = queue(crm_app, customer)
    with crm_app.unit_of_work() as uow:
        set_consent(uow, get_customer(uow.session, customer), "sms", False, source="cli")
    deliver(crm_app)
    assert status(crm_app, mid)[0] == "blocked" and sms.requests == []


def test_quiet_hours_defer_promotional_sms_but_not_transactional_or_email(crm_app, customer, sms):
    at_tehran(crm_app, 2025, 5, 1, 23, 30)
    promo = queue(crm_app, customer, key="p")
    info = queue(crm_app, customer, template="info", key="i")
    mail = queue(crm_app, customer, key="e", channel="email")
    assert status(crm_app, promo)[0] == "queued"
    assert status(crm_app, info)[0] == "sent"
    assert status(crm_app, mail)[0] == "delivered"
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import to_local

        assert (
            to_local(uow.session.get(Message, promo).next_attempt_at).strftime("%Y-%m-%d %H:%M")
            == "2025-05-02 08:00"
        )
    at_tehran(crm_app, 2025, 5, 2, 7, 59)
    deliver(crm_app)
    assert status(crm_app, promo)[0] == "queued"
    at_tehran(crm_app, 2025, 5, 2, 8, 0)
    deliver(crm_app)
    assert status(crm_app, promo)[0] == "sent"
    assert len(sms.sent) == 2


def test_frequency_cap_skips_the_fourth_promotion_in_a_week(crm_app, customer, sms):
    at_tehran(crm_app, 2025, 5, 1, 12)
    ids = [queue(crm_app, customer, key=f"p{n}") for n in range(4)]
    assert [status(crm_app, i)[0] for i in ids] == ["sent", "sent", "sent", "skipped"]
    assert "frequency cap" in status(crm_app, ids[3])[1]
    assert (
        status(crm_app, queue(crm_app, customer, template="info", key="t"))[0] == "sent"
    )  # transactional
    with pytest.raises(Conflict, match="frequency cap"):
        queue(crm_app, customer, key="strict", strict=True)
    crm_app.clock.advance(days=7, seconds=1)
    assert status(crm_app, queue(crm_app, customer, key="p5"))[0] == "sent"


def test_settings_are_validated(crm_app):
    with pytest.raises(ValidationError, match="22:00-08:00"):
        with crm_app.unit_of_work() as uow:
            set_setting(uow, "quiet_hours", "late")
    with pytest.raises(ValidationError, match="3/7"):
        with crm_app.unit_of_work() as uow:
            set_setting(uow, "frequency_cap", "0/7")
    with pytest.raises(ValidationError, match="unknown setting"):
        with crm_app.unit_of_work() as uow:
            set_setting(uow, "volume", "11")


def test_idempotency_key_sends_once_even_when_queued_and_delivered_again(crm_app, customer, sms):
    at_tehran(crm_app, 2025, 5, 1, 12)
    first = queue(crm_app, customer, template="info", key="order-77")
    again = queue(crm_app, customer, template="info", key="order-77")
    assert first == again
    for _ in range(3):
        deliver(crm_app)
    assert len(sms.sent) == 1 and count(crm_app, Message) == 1
    with pytest.raises(Conflict, match="already queued"):
        queue(crm_app, customer, template="info", key="order-77", strict=True)


def test_provider_rate_limit_spreads_sends_over_minutes(crm_app, sms, setup):
    with crm_app.unit_of_work() as uow:
        set_setting(uow, "send_after_commit", "no")
    setup(
        lambda uow: add_provider(
            uow,
            name="slow",
            kind="kavenegar",
            channel="sms",
            default=True,
            rate_per_minute=2,
            options={"url": sms.url, "api_key": "KEY"},
        )
    )
    at_tehran(crm_app, 2025, 5, 1, 12)
    for n in range(5):
        cid = make_customer(crm_app, f"مشتری {n}", phones=[f"0912000000{n}"], consent_sms=True)
        queue(crm_app, cid, template="info", key=f"r{n}")
    assert deliver(crm_app)["sent"] == 2
    assert deliver(crm_app)["sent"] == 0
    crm_app.clock.advance(seconds=61)
    assert deliver(crm_app)["sent"] == 2
    crm_app.clock.advance(seconds=61)
    assert deliver(crm_app)["sent"] == 1
    assert len(sms.sent) == 5


def test_retries_give_up_after_max_attempts(crm_app, customer, sms):
    with crm_app.unit_of_work() as uow:
        set_setting(uow, "max_attempts", "3")
    at_tehran(crm_app, 2025, 5, 1, 12)
    sms.script = [("error", 503, 503, "down")] * 3
    mid = queue(crm_app, customer, template="info")
    for _ in range(3):
        crm_app.clock.advance(minutes=10)
        deliver(crm_app)
    st, error = status(crm_app, mid)
    assert st == "failed" and error.startswith("gave up after 3 attempts")
    assert len(sms.requests) == 3


def test_a_send_interrupted_mid_flight_becomes_unknown_and_is_not_resent(crm_app, customer, sms):
    from sqlalchemy import update

    with crm_app.unit_of_work() as uow:
        set_setting(uow, "send_after_commit", "no")
    at_tehran(crm_app, 2025, 5, 1, 12)
    mid = queue(crm_app, customer, template="info")
    with (
        crm_app.unit_of_work() as uow
    ):  # a process claimed it and died before recording the outcome
        uow.session.execute(
            update(Message)
            .where(Message.id == mid)
            .values(status="sending", next_attempt_at=crm_app.now())
        )
    crm_app.clock.advance(minutes=5)
    deliver(crm_app)
    assert status(crm_app, mid)[0] == "sending"
    crm_app.clock.advance(minutes=11)
    assert deliver(crm_app)["unknown"] == 1
    assert status(crm_app, mid)[0] == "unknown" and sms.requests == []


def test_no_provider_is_a_recorded_failure(crm_app, customer, setup):
    setup(lambda uow: save_template(uow, name="info", channel="sms", body="x"))
    mid = queue(crm_app, customer, template="info")
    assert status(crm_app, mid) == (
        "failed",
        "no sms provider is configured (crm messages providers add)",
    )


def test_two_processes_never_send_the_same_message(crm_app, crm_app_factory, customer, sms):
    """Two delivery runs at once (two cron hosts): each message is claimed by one of them only."""
    import threading

    with crm_app.unit_of_work() as uow:
        set_setting(uow, "send_after_commit", "no")
    at_tehran(crm_app, 2025, 5, 1, 12)
    for n in range(6):
        cid = make_customer(crm_app, f"م {n}", phones=[f"0935000000{n}"], consent_sms=True)
        queue(crm_app, cid, template="info", key=f"x{n}")
    other = crm_app_factory()
    other.clock = crm_app.clock
    threads = [threading.Thread(target=deliver, args=(app,)) for app in (crm_app, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sms.sent) == 6 and len(sms.requests) == 6
