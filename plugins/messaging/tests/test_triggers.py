"""Event triggers (purchase thank-you and the other plugins' events) and date triggers (Jalali birthdays,
anniversaries, occasions): each message is queued once, sent after commit, never on rollback."""

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from crmcore_messaging.jobs import run_dates
from crmcore_messaging.models import Message
from crmcore_messaging.service import add_occasion, add_provider, save_template, set_trigger
from crmcore_messaging.settings import set_setting
from sqlalchemy import select

from crmcore.api import get_customer, record_interaction
from crmcore.testing import make_customer, record_purchase

from .conftest import at_tehran
from .other_plugins import SPECS, Nothing


def messages(app):
    with app.unit_of_work(readonly=True) as uow:
        return [
            (m.customer_id, m.trigger, m.status, m.body)
            for m in uow.session.scalars(select(Message).order_by(Message.id))
        ]


@pytest.fixture
def outbox_file(setup, tmp_path):
    path = tmp_path / "sms.jsonl"
    setup(
        lambda uow: add_provider(
            uow, name="dev", kind="file", channel="sms", options={"path": str(path)}
        )
    )
    return path


def sent_lines(path):
    import json

    return (
        [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        if path.exists()
        else []
    )


def test_purchase_thank_you_is_sent_after_commit_once(crm_app, customer, setup, outbox_file):
    setup(
        lambda uow: save_template(
            uow,
            name="thanks",
            channel="sms",
            body="{{ first_name }} عزیز، از خرید {{ amount|toman(true) }} سپاسگزاریم",
        )
    )
    setup(lambda uow: set_trigger(uow, event="purchase", template="thanks", channel="sms"))
    pid = record_purchase(crm_app, customer, "12500000")
    assert messages(crm_app) == [
        (customer, "purchase", "delivered", "مریم عزیز، از خرید ۱٬۲۵۰٬۰۰۰ تومان سپاسگزاریم")
    ]
    assert [line["body"] for line in sent_lines(outbox_file)] == [
        "مریم عزیز، از خرید ۱٬۲۵۰٬۰۰۰ تومان سپاسگزاریم"
    ]
    # the same event replayed (an outbox consumer, a rerun) queues nothing new
    with crm_app.unit_of_work() as uow:
        from crmcore_messaging.triggers import purchase

        from crmcore.api import Interaction

        purchase(uow, uow.session.get(Interaction, pid), get_customer(uow.session, customer))
    assert len(messages(crm_app)) == 1 and len(sent_lines(outbox_file)) == 1


def test_nothing_is_sent_when_the_purchase_rolls_back(crm_app, customer, setup, outbox_file):
    setup(lambda uow: save_template(uow, name="thanks", channel="sms", body="ممنون"))
    setup(lambda uow: set_trigger(uow, event="purchase", template="thanks", channel="sms"))
    with pytest.raises(RuntimeError):
        with crm_app.unit_of_work() as uow:
            record_interaction(
                uow, get_customer(uow.session, customer), kind="purchase", amount="1000"
            )
            raise RuntimeError("the till crashed")
    assert messages(crm_app) == [] and sent_lines(outbox_file) == []


def test_imported_history_gets_no_thank_you(crm_app, customer, setup, outbox_file):
    setup(lambda uow: save_template(uow, name="thanks", channel="sms", body="ممنون"))
    setup(lambda uow: set_trigger(uow, event="purchase", template="thanks", channel="sms"))
    record_purchase(crm_app, customer, "1000", at=crm_app.now() - timedelta(days=30))
    assert messages(crm_app) == []


def test_a_broken_template_never_blocks_the_purchase(crm_app, customer, setup, outbox_file):
    from crmcore.api import update_customer

    setup(
        lambda uow: save_template(uow, name="thanks", channel="sms", body="{{ birthday|jalali }}")
    )
    setup(lambda uow: set_trigger(uow, event="birthday", template="thanks", channel="sms"))
    with crm_app.unit_of_work() as uow:
        update_customer(uow, customer, birthday="")
    setup(lambda uow: set_trigger(uow, event="purchase", template="thanks", channel="sms"))
    record_purchase(crm_app, customer, "1000")  # no exception: the purchase is stored
    [(_, _, status, _)] = messages(crm_app)
    assert status == "failed"


@pytest.fixture
def others(crm_app_factory, crm_app):
    """An app that also knows the other plugins' event specs (loyalty, tiers, tickets, lottery…)."""
    app = crm_app_factory(extra_plugins=[("others", Nothing(), SPECS)])
    app.clock = crm_app.clock
    return app


EVENTS = [
    (
        "points_expiring",
        "{{ points|fa }} امتیاز شما {{ expires_on|jalali(true)|fa }} می‌سوزد",
        lambda c: (
            "loyalty_points_expiring",
            dict(customer=c, points=500, expires_on=date(2025, 4, 20)),
        ),
        "۵۰۰ امتیاز شما ۳۱ فروردین ۱۴۰۴ می‌سوزد",
    ),
    (
        "tier_changed",
        "تبریک! سطح شما از {{ old_tier }} به {{ new_tier }} رسید",
        lambda c: (
            "tiers_tier_changed",
            dict(
                customer=c,
                old_tier=SimpleNamespace(name="نقره‌ای"),
                new_tier=SimpleNamespace(name="طلایی"),
                direction="up",
                reason="spend",
            ),
        ),
        "تبریک! سطح شما از نقره‌ای به طلایی رسید",
    ),
    (
        "ticket_closed",
        "درخواست {{ ticket_id }} ({{ ticket_subject }}) بسته شد",
        lambda c: (
            "tickets_ticket_closed",
            dict(
                ticket=SimpleNamespace(id=7, customer_id=c.id, subject="مرجوعی"), resolution="done"
            ),
        ),
        "درخواست 7 (مرجوعی) بسته شد",
    ),
    (
        "winners_drawn",
        "شما برندهٔ {{ prize }} در {{ lottery }} شدید",
        lambda c: (
            "lottery_winners_drawn",
            dict(
                campaign=SimpleNamespace(id=3, name="قرعه‌کشی یلدا"),
                winners=[SimpleNamespace(customer_id=c.id, prize="سکه طلا")],
            ),
        ),
        "شما برندهٔ سکه طلا در قرعه‌کشی یلدا شدید",
    ),
    (
        "survey_invitation",
        "نظر شما: {{ survey_url }}",
        # the surveys link setting wins over messaging's old survey_base_url (set to s.shop.ir below)
        lambda c: (
            "surveys_invitation_created",
            dict(
                invitation=SimpleNamespace(id=11),
                customer=c,
                url_token="tok9",
                url="https://shop.ir/s/tok9",
            ),
        ),
        "نظر شما: https://shop.ir/s/tok9",
    ),
    (
        "referral_joined",
        "{{ friend_name }} با کد معرف شما عضو شد؛ با اولین خریدش امتیاز می‌گیرید",
        lambda c: (
            "referrals_referral_attached",
            dict(
                referral=SimpleNamespace(id=4),
                referrer=c,
                friend=SimpleNamespace(display_name="سارا کریمی"),
            ),
        ),
        "سارا کریمی با کد معرف شما عضو شد؛ با اولین خریدش امتیاز می‌گیرید",
    ),
    (
        "referral_reward",
        "{{ points|fa }} امتیاز هدیهٔ معرفی {{ friend_name }} به حساب شما نشست",
        lambda c: (
            "referrals_reward_earned",
            dict(
                reward=SimpleNamespace(
                    id=9, points=1000, role="referrer", earned_at=datetime.now(timezone.utc)
                ),
                beneficiary=c,
                friend=SimpleNamespace(display_name="سارا کریمی"),
            ),
        ),
        "۱۰۰۰ امتیاز هدیهٔ معرفی سارا کریمی به حساب شما نشست",
    ),
] + [
    # a transfer between two of the customer's own records: each side is the customer
    (
        event,
        f"{event}: {{{{ points|fa }}}} امتیاز، {{{{ role }}}}",
        lambda c, hook=hook: (
            hook,
            dict(
                transfer=SimpleNamespace(id=7, sender_id=c.id, recipient_id=c.id, points=300, fee=0)
            ),
        ),
        f"{event}: ۳۰۰ امتیاز، {role}",
    )
    for event, hook, role in (
        ("transfer_received", "transfers_transfer_completed", "recipient"),
        ("transfer_pending", "transfers_transfer_requested", "recipient"),
        ("transfer_expired", "transfers_transfer_expired", "sender"),
    )
]


@pytest.mark.parametrize("event, body, emit, expected", EVENTS, ids=[e[0] for e in EVENTS])
def test_other_plugins_events_send_their_template_once(
    others, customer, setup, outbox_file, event, body, emit, expected
):
    from crmcore_messaging.settings import set_setting

    setup(lambda uow: set_setting(uow, "survey_base_url", "https://s.shop.ir/s/"))
    setup(lambda uow: save_template(uow, name=event, channel="sms", body=body))
    setup(lambda uow: set_trigger(uow, event=event, template=event, channel="sms"))
    for _ in range(2):  # the other plugin's job runs twice
        with others.unit_of_work() as uow:
            hook, kwargs = emit(get_customer(uow.session, customer))
            uow.emit(hook, customer_id=customer, data={}, **kwargs)
    assert messages(others) == [(customer, event, "delivered", expected)]
    assert len(sent_lines(outbox_file)) == 1


def test_every_trigger_kind_goes_to_the_customer_and_reminders_never_do(
    others, customer, setup, outbox_file
):
    """Each event trigger messages the customer the event is about, at the customer's own number;
    a task reminder (internal: «داخلی: …») is for staff (the kernel's notify_user) and reaches no
    customer."""
    from crmcore_messaging.service import EVENT_TRIGGERS

    from crmcore.api import Customer

    assert "reminder_due" not in EVENT_TRIGGERS
    sent_here = {e[0] for e in EVENTS} | {"purchase", "transfer_reversed"}  # reversed: both sides
    assert sent_here == set(EVENT_TRIGGERS), "every trigger kind is sent by this test"
    setup(lambda uow: set_setting(uow, "survey_base_url", "https://s.shop.ir/s/"))
    for event, body, _emit, _expected in EVENTS:
        setup(
            lambda uow, event=event, body=body: save_template(
                uow, name=event, channel="sms", body=body
            )
        )
        setup(lambda uow, event=event: set_trigger(uow, event=event, template=event, channel="sms"))
    setup(lambda uow: save_template(uow, name="thanks", channel="sms", body="ممنون"))
    setup(lambda uow: set_trigger(uow, event="purchase", template="thanks", channel="sms"))
    setup(lambda uow: set_trigger(uow, event="transfer_reversed", template=None, channel="sms"))
    record_purchase(others, customer, "1000")
    with others.unit_of_work() as uow:
        for _event, _body, emit, _expected in EVENTS:
            hook, kwargs = emit(get_customer(uow.session, customer))
            uow.emit(hook, customer_id=customer, data={}, **kwargs)
        uow.emit(
            "transfers_transfer_reversed",
            customer_id=customer,
            data={},
            transfer=SimpleNamespace(
                id=8, sender_id=customer, recipient_id=customer, points=50, fee=0
            ),
        )
        task = SimpleNamespace(
            id=5,
            customer_id=customer,
            title="تماس",
            notes="داخلی: مشتری بدحساب است",
            due_at=datetime(2025, 3, 22, 6, tzinfo=timezone.utc),
        )
        uow.emit(
            "tasks_reminder_due",
            customer_id=customer,
            data={},
            task=task,
            reminder=SimpleNamespace(id=1),
        )
    with others.unit_of_work(readonly=True) as uow:
        rows = list(uow.session.scalars(select(Message)))
        phones = {p.e164 for p in uow.session.get(Customer, customer).phones}
    assert {m.trigger for m in rows} == set(EVENT_TRIGGERS)
    for m in rows:
        assert (m.customer_id, m.recipient in phones) == (customer, True), m.trigger
        assert "داخلی" not in m.body
    assert {line["to"] for line in sent_lines(outbox_file)} == phones


def test_events_without_a_trigger_send_nothing(others, customer, outbox_file):
    with others.unit_of_work() as uow:
        uow.emit(
            "loyalty_points_expiring",
            customer_id=customer,
            customer=get_customer(uow.session, customer),
            points=5,
            expires_on=date(2025, 4, 1),
        )
    assert messages(others) == []


# --- dates ----------------------------------------------------------------------------------------------
def test_jalali_birthday_is_greeted_once_a_year(crm_app, customer, setup, outbox_file):
    setup(
        lambda uow: save_template(
            uow,
            name="bd",
            channel="sms",
            body="{{ first_name }}، {{ age|fa }} سالگی‌تان مبارک!",
            category="promotional",
        )
    )
    setup(lambda uow: set_trigger(uow, event="birthday", template="bd", channel="sms"))
    other = make_customer(
        crm_app, "رضا", phones=["09350000000"], consent_sms=True, birthday="1370-05-13"
    )
    at_tehran(crm_app, 2025, 8, 3, 10)  # 12 Mordad 1404 (the customer was born 12 Mordad 1370)
    for _ in range(2):
        with crm_app.unit_of_work() as uow:
            summary = run_dates(uow, uow.now())
    assert summary["day"] == "1404-05-12"
    assert messages(crm_app) == [(customer, "birthday", "delivered", "مریم، ۳۴ سالگی‌تان مبارک!")]
    assert other not in [m[0] for m in messages(crm_app)]


def test_esfand_30_birthdays_are_greeted_on_esfand_29_in_common_years(crm_app, setup, outbox_file):
    setup(lambda uow: save_template(uow, name="bd", channel="sms", body="تولدت مبارک"))
    setup(lambda uow: set_trigger(uow, event="birthday", template="bd", channel="sms"))
    cid = make_customer(
        crm_app, "سارا", phones=["09121111111"], consent_sms=True, birthday="1399-12-30"
    )
    at_tehran(crm_app, 2025, 3, 19, 10)  # 29 Esfand 1403; 1403 is a leap year: wait for the 30th
    with crm_app.unit_of_work() as uow:
        run_dates(uow, uow.now())
    assert messages(crm_app) == []
    at_tehran(crm_app, 2026, 3, 20, 10)  # 29 Esfand 1404, a common year
    with crm_app.unit_of_work() as uow:
        run_dates(uow, uow.now())
    assert [m[0] for m in messages(crm_app)] == [cid]


def test_membership_anniversary(crm_app, customer, setup, outbox_file):
    setup(
        lambda uow: save_template(
            uow, name="ann", channel="sms", body="{{ years|fa }} سال همراهی، سپاس"
        )
    )
    setup(lambda uow: set_trigger(uow, event="anniversary", template="ann", channel="sms"))
    crm_app.clock.advance(days=365)  # joined 1 Farvardin 1404 (2025-03-21); now 1 Farvardin 1405
    with crm_app.unit_of_work() as uow:
        run_dates(uow, uow.now())
    assert messages(crm_app) == [(customer, "anniversary", "delivered", "۱ سال همراهی، سپاس")]


def test_nowruz_and_yalda_occasions_reach_only_opted_in_customers_of_the_segment(
    crm_app, customer, setup, outbox_file
):
    setup(
        lambda uow: save_template(
            uow,
            name="nowruz",
            channel="sms",
            body="نوروز {{ first_name }} پیروز",
            category="promotional",
        )
    )
    setup(
        lambda uow: add_occasion(
            uow, name="nowruz", date="۰۱-۰۱", template="nowruz", channel="sms", where=["city=تهران"]
        )
    )
    make_customer(crm_app, "بی‌رضایت", phones=["09122222222"], city="تهران")  # no consent
    make_customer(crm_app, "شیرازی", phones=["09123333333"], city="شیراز", consent_sms=True)
    at_tehran(crm_app, 2025, 3, 21, 9)  # 1 Farvardin 1404
    with crm_app.unit_of_work() as uow:
        assert run_dates(uow, uow.now())["occasions"] == {"nowruz": 1}
    with crm_app.unit_of_work() as uow:
        assert run_dates(uow, uow.now())["occasions"] == {"nowruz": 0}
    assert messages(crm_app) == [(customer, "occasion:nowruz", "delivered", "نوروز مریم پیروز")]


def test_bad_occasion_date_is_refused(crm_app, setup):
    from crmcore.api import ValidationError

    setup(lambda uow: save_template(uow, name="y", channel="sms", body="یلدا"))
    with pytest.raises(ValidationError, match="not a day of the Jalali calendar"):
        setup(lambda uow: add_occasion(uow, name="y", date="07-31", template="y", channel="sms"))
