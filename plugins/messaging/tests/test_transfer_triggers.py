"""Transfers' events become messages with Persian default texts (received, waiting for acceptance,
expired, reversed), driven through the real transfers plugin; and a template used where its fields
are missing says which field is missing."""

from __future__ import annotations

import pytest
from crmcore_messaging.models import Message
from crmcore_messaging.service import add_provider, save_template
from sqlalchemy import select

from crmcore.testing import make_customer

PENDING = 'acceptance = "required"\naccept_within_days = 3'


@pytest.fixture
def crm_plugins():
    return ["messaging", "loyalty", "transfers"]


@pytest.fixture
def members(crm_app, crm_cli, tmp_path):
    def policy(text: str) -> None:
        path = tmp_path / f"program-{abs(hash(text))}.toml"
        path.write_text(
            f'[program]\nname = "باشگاه"\ncalendar = "jalali"\nexpiry = "never"\n\n'
            f"[transfers]\n{text}\n",
            encoding="utf-8",
        )
        result = crm_cli("loyalty", "program", "load", str(path))
        assert result.exit_code == 0, result.stderr

    with crm_app.unit_of_work() as uow:
        add_provider(
            uow,
            name="dev",
            kind="file",
            channel="sms",
            options={"path": str(tmp_path / "sms.jsonl")},
        )
    for event in ("transfer_received", "transfer_pending", "transfer_expired", "transfer_reversed"):
        result = crm_cli("messages", "triggers", "set", event)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == f"{event} → {event} (sms)"
    sender = make_customer(crm_app, "نرگس احمدی", phones=["09121110000"], consent_sms=True)
    recipient = make_customer(crm_app, "کیان احمدی", phones=["09122220000"], consent_sms=True)
    from crmcore_loyalty import api as loyalty

    with crm_app.unit_of_work() as uow:
        loyalty.credit(uow, sender, 1000, kind="adjust", reason="test")
    return policy, sender, recipient


def texts(app) -> list[tuple[int, str, str]]:
    with app.unit_of_work(readonly=True) as uow:
        return [
            (m.customer_id, m.trigger, m.body)
            for m in uow.session.scalars(select(Message).order_by(Message.id))
        ]


def transfer(crm_cli, *args) -> dict:
    result = crm_cli("transfers", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_pending_then_expired_transfer_texts_the_recipient_then_the_sender(
    crm_app, crm_cli, members
):
    policy, sender, recipient = members
    policy(PENDING)
    t = transfer(crm_cli, "send", str(sender), str(recipient), "250")
    assert texts(crm_app) == [
        (
            recipient,
            "transfer_pending",
            "کیان عزیز، نرگس احمدی ۲۵۰ امتیاز برای شما فرستاده است؛ لطفاً تا "
            "۴ فروردین ۱۴۰۴ آن را بپذیرید.",
        )
    ]
    crm_app.clock.advance(days=3, minutes=1)
    assert crm_cli("jobs", "run", "--only", "transfers.expire").exit_code == 0
    assert texts(crm_app)[1:] == [
        (
            sender,
            "transfer_expired",
            "نرگس عزیز، انتقال ۲۵۰ امتیاز به کیان احمدی در مهلت "
            "پذیرفته نشد و امتیازها به حساب شما برگشت.",
        )
    ]
    assert transfer(crm_cli, "show", str(t["id"]))["status"] == "expired"


def test_received_and_reversed_transfer_text_each_side_once(crm_app, crm_cli, members):
    policy, sender, recipient = members
    policy("")
    t = transfer(crm_cli, "send", str(sender), str(recipient), "300")
    assert texts(crm_app) == [
        (
            recipient,
            "transfer_received",
            "کیان عزیز، ۳۰۰ امتیاز از نرگس احمدی به حساب باشگاه شما منتقل شد.",
        )
    ]
    result = crm_cli("transfers", "reverse", str(t["id"]), "--reason", "اشتباه")
    assert result.exit_code == 0, result.stderr
    assert texts(crm_app)[1:] == [
        (
            sender,
            "transfer_reversed",
            "نرگس عزیز، انتقال ۳۰۰ امتیاز به کیان احمدی برگشت خورد و امتیازها به حساب شما بازگشت.",
        ),
        (
            recipient,
            "transfer_reversed",
            "کیان عزیز، انتقال ۳۰۰ امتیاز از نرگس احمدی برگشت خورد و از حساب شما کسر شد.",
        ),
    ]


def test_a_trigger_without_a_default_text_asks_for_a_template(crm_app, crm_cli):
    result = crm_cli("messages", "triggers", "set", "purchase")
    assert result.exit_code == 1
    assert "name the template the purchase trigger sends (--template)" in result.stderr


def test_sending_a_purchase_template_by_hand_names_the_missing_amount(crm_app, crm_cli):
    customer = make_customer(crm_app, "مریم رضایی", phones=["09121234567"], consent_sms=True)
    with crm_app.unit_of_work() as uow:
        save_template(
            uow,
            name="thanks",
            channel="sms",
            body="{{ first_name }} عزیز، از خرید {{ amount|toman(true) }} سپاسگزاریم",
        )
    result = crm_cli("messages", "send", str(customer), "--template", "thanks")
    assert result.exit_code == 1
    assert (
        "the template needs the field 'amount', which this message does not have (only the "
        "purchase trigger provides it)" in result.stderr
    )
    assert "Undefined" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert texts(crm_app) == []
