"""Agents' replies reach the customer by the ticket's channel, end to end through the CLI: email to
a real SMTP server on 127.0.0.1 (aiosmtpd) with threading headers, the customer's answer threading
back through the email import; SMS for phone tickets; failures shown on the ticket."""

from __future__ import annotations

import json
import socket
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from tickets_helpers import at

from crmcore.testing import make_customer

FIXTURES = Path(__file__).parent / "fixtures" / "email"


@pytest.fixture
def crm_plugins():
    return ["tickets", "messaging"]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """A plain SMTP server on loopback: (port, inbox)."""
    controller_cls = pytest.importorskip("aiosmtpd.controller").Controller
    inbox = Inbox()
    controller = controller_cls(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def desk(crm_app, crm_cli, monkeypatch):
    monkeypatch.setenv("CRM_TICKETS_EMAIL_DOMAIN", "tickets.shop.example")
    at(crm_app, 2025, 1, 4, 10, 0)  # Saturday, after the fixture mail was written
    assert crm_cli("tickets", "agent", "add", "sara", "--name", "سارا").exit_code == 0
    return crm_cli


def add_smtp(cli, port):
    result = cli(
        "messages",
        "providers",
        "add",
        "mail",
        "--kind",
        "smtp",
        "--channel",
        "email",
        "--default",
        "--option",
        "host=127.0.0.1",
        "--option",
        f"port={port}",
        "--option",
        "security=none",
        "--option",
        "sender=support@shop.example",
    )
    assert result.exit_code == 0, result.stderr


def show(cli, tid):
    result = cli("tickets", "show", str(tid), "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_reply_arrives_threaded_and_the_customers_answer_threads_back(desk, smtp, tmp_path):
    port, inbox = smtp
    add_smtp(desk, port)
    imported = desk("tickets", "email", "import", str(FIXTURES / "01_new_request.eml"))
    assert imported.exit_code == 0 and imported.stdout.startswith("opened #1")
    ticket = show(desk, 1)
    # the ticket is dated by the message's own Date header (09:12:33 +03:30), not by the import
    assert ticket["created_at"] == "2025-01-04T05:42:33+00:00"

    replied = desk(
        "tickets", "reply", "1", "--agent", "sara", "--body", "کد رهگیری: ۱۲۳۴۵", "--pending"
    )
    assert replied.exit_code == 0, replied.stderr
    assert replied.stdout.splitlines()[-1] == "  reply sent by email to leila.ahmadi@example.ir"
    assert len(inbox.messages) == 1
    rcpt, mail = inbox.messages[0]
    assert rcpt == ["leila.ahmadi@example.ir"]
    ours = show(desk, 1)["messages"][-1]
    assert ours["delivery"] == {
        "channel": "email",
        "to": "leila.ahmadi@example.ir",
        "status": "sent",
        "error": None,
        "attempts": 1,
        "sent_at": "2025-01-04T06:30:00+00:00",
        "ref": ours["delivery"]["ref"],
    }
    assert mail["Message-ID"] == ours["email_message_id"]
    assert ours["email_message_id"].endswith("@tickets.shop.example>")
    assert mail["In-Reply-To"] == "<CAF3x9k1-order4521@mail.example.ir>"
    assert mail["References"] == "<CAF3x9k1-order4521@mail.example.ir>"
    assert (
        mail["Subject"] == f"Re: {ticket['subject']} [#1]"
        and mail["To"] == "leila.ahmadi@example.ir"
    )
    assert mail.get_body(("plain",)).get_content().strip() == "کد رهگیری: ۱۲۳۴۵"
    assert parsedate_to_datetime(mail["Date"]) is not None

    # the customer answers from her mail program: In-Reply-To our reply, References the whole thread
    answer = tmp_path / "answer.eml"
    answer.write_bytes(
        (
            "From: Leila <leila.ahmadi@example.ir>\nTo: support@shop.example\n"
            f"Subject: Re: {mail['Subject']}\nDate: Sat, 04 Jan 2025 11:00:00 +0330\n"
            "Message-ID: <answer-1@mail.example.ir>\n"
            f"In-Reply-To: {mail['Message-ID']}\n"
            f"References: {mail['References']} {mail['Message-ID']}\n"
            "Content-Type: text/plain; charset=utf-8\n\nرسید، ممنون\n\n> کد رهگیری: ۱۲۳۴۵\n"
        ).encode()
    )
    threaded = desk("tickets", "email", "import", str(answer))
    assert threaded.exit_code == 0 and threaded.stdout.startswith("replied #1"), threaded.stdout
    after = show(desk, 1)
    assert after["state"] == "open"  # the customer's answer resumed the pending ticket
    assert [(m["author"], m["body"]) for m in after["messages"]][-1] == ("customer", "رسید، ممنون")

    # the second reply carries the customer's answer as In-Reply-To and the whole thread in
    # References
    assert desk("tickets", "reply", "1", "--agent", "sara", "--body", "خواهش می‌کنم").exit_code == 0
    second = inbox.messages[1][1]
    assert second["In-Reply-To"] == "<answer-1@mail.example.ir>"
    assert second["References"].split() == [
        "<CAF3x9k1-order4521@mail.example.ir>",
        mail["Message-ID"],
        "<answer-1@mail.example.ir>",
    ]


def test_a_server_that_is_down_is_retried_and_the_failure_shows_on_the_ticket(desk, crm_app, smtp):
    port, inbox = smtp
    add_smtp(desk, free_port())  # nobody listens there
    assert desk("tickets", "email", "import", str(FIXTURES / "01_new_request.eml")).exit_code == 0
    assert desk("tickets", "reply", "1", "--agent", "sara", "--body", "سلام").exit_code == 0
    delivery = show(desk, 1)["messages"][-1]["delivery"]
    assert delivery["status"] == "queued" and delivery["attempts"] == 1
    assert "cannot reach SMTP server 127.0.0.1" in delivery["error"]
    text = desk("tickets", "show", "1").stdout
    assert "not sent yet (attempt 1): cannot reach SMTP server" in text
    # the provider is fixed; the job retries once the back-off has passed
    assert desk("messages", "providers", "remove", "mail").exit_code == 0
    add_smtp(desk, port)
    crm_app.clock.advance(minutes=2)
    jobs = desk("jobs", "run", "--only", "tickets.replies", "--json").json()
    assert jobs[0]["summary"]["sent"] == 1
    assert show(desk, 1)["messages"][-1]["delivery"]["status"] == "sent"
    assert len(inbox.messages) == 1


def test_phone_tickets_are_answered_by_sms(desk, crm_app, tmp_path):
    sms_log = tmp_path / "sms.jsonl"
    assert (
        desk(
            "messages",
            "providers",
            "add",
            "dev",
            "--kind",
            "file",
            "--channel",
            "sms",
            "--option",
            f"path={sms_log}",
        ).exit_code
        == 0
    )
    cid = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    assert (
        desk(
            "tickets", "open", str(cid), "--subject", "سفارش نرسیده", "--channel", "phone"
        ).exit_code
        == 0
    )
    assert (
        desk(
            "tickets", "note", "1", "--agent", "sara", "--body", "داخلی: مشتری بدحساب است"
        ).exit_code
        == 0
    )
    assert desk("tickets", "reply", "1", "--agent", "sara", "--body", "فردا می‌رسد").exit_code == 0
    lines = [json.loads(line) for line in sms_log.read_text().splitlines()]
    assert [(m["channel"], m["to"], m["body"]) for m in lines] == [
        ("sms", "+989121234567", "فردا می‌رسد")
    ]
    messages = show(desk, 1)["messages"]
    assert messages[0]["delivery"] is None  # the internal note is never sent anywhere
    assert messages[1]["delivery"]["status"] == "sent"


def test_without_an_address_or_a_provider_the_reply_fails_visibly(desk, crm_app):
    cid = make_customer(crm_app, "علی", phones=["02188776655"])  # a landline: no SMS
    assert desk("tickets", "open", str(cid), "--subject", "x", "--channel", "phone").exit_code == 0
    assert desk("tickets", "reply", "1", "--agent", "sara", "--body", "سلام").exit_code == 0
    delivery = show(desk, 1)["messages"][-1]["delivery"]
    assert delivery["status"] == "failed"
    assert (
        delivery["error"] == f"customer {cid} has no mobile phone for SMS; the reply was not sent"
    )

    assert desk("tickets", "email", "import", str(FIXTURES / "01_new_request.eml")).exit_code == 0
    assert desk("tickets", "reply", "2", "--agent", "sara", "--body", "سلام").exit_code == 0
    delivery = show(desk, 2)["messages"][-1]["delivery"]
    assert delivery["status"] == "failed"
    assert delivery["error"].startswith("nothing sends email here: enable the messaging plugin")


def test_open_at_a_past_time(desk, crm_app):
    cid = make_customer(crm_app, "x")
    opened = desk(
        "tickets", "open", str(cid), "--subject", "old", "--at", "1403-10-12 09:30", "--json"
    )
    assert opened.exit_code == 0, opened.stderr
    assert opened.json()["created_at"] == "2025-01-01T06:00:00+00:00"
    future = desk("tickets", "open", str(cid), "--subject", "later", "--at", "1403-10-20 09:30")
    assert future.exit_code == 1
    assert "--at is later than now" in future.stderr
    assert desk("tickets", "list", "--json").json()[-1]["subject"] == "old"
