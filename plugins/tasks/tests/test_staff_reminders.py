"""A task reminder reaches the assigned salesperson — their web notification list, an email at a
real SMTP server on 127.0.0.1 and an SMS through messaging's file channel — and never the customer,
whose consented phone and email get nothing (the task's internal notes stay inside). End to end
through the CLI."""

import json
import socket

import pytest

from crmcore.testing import make_customer

PASSWORD = "a long enough password"
CUSTOMER_PHONE = "+989125550000"


@pytest.fixture
def crm_plugins():
    return ["tasks", "messaging"]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_a_reminder_reaches_the_assignee_and_never_the_customer(crm_cli, crm_app, smtp, tmp_path):
    port, inbox = smtp
    sms_file = tmp_path / "sms.jsonl"

    def ok(*args, **kw):
        result = crm_cli(*args, **kw)
        assert result.exit_code == 0, result
        return result

    ok(
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
        "sender=crm@shop.ir",
    )
    ok(
        "messages",
        "providers",
        "add",
        "texts",
        "--kind",
        "file",
        "--channel",
        "sms",
        "--default",
        "--option",
        f"path={sms_file}",
    )
    ok(
        "users",
        "add",
        "sara",
        "--role",
        "agent",
        "--name",
        "سارا احمدی",
        "--email",
        "sara@shop.ir",
        "--phone",
        "0912 111 0000",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    ok("tasks", "users", "add", "sara")
    customer = make_customer(
        crm_app,
        "مریم کریمی",
        phones=[CUSTOMER_PHONE],
        emails=["maryam@example.ir"],
        consent_sms=True,
        consent_email=True,
    )
    # the old way — a customer trigger for reminders — no longer exists
    ok(
        "messages",
        "templates",
        "add",
        "remind",
        "--channel",
        "sms",
        "--body",
        "یادآوری: {{ first_name }}",
    )
    refused = crm_cli("messages", "triggers", "set", "reminder_due", "--template", "remind")
    assert refused.exit_code == 1 and "reminder_due" in refused.stderr
    task = ok(
        "tasks",
        "add",
        str(customer),
        "--title",
        "تماس برای تمدید قرارداد",
        "--kind",
        "call_back",
        "--notes",
        "داخلی: مشتری بدحساب است",
        "--due",
        "+20m",
        "--user",
        "sara",
        "--remind",
        "30m",
        "--json",
    ).json()
    ran = {j["job"]: j["summary"] for j in ok("jobs", "run", "--json").json()}
    assert ran["tasks.reminders"] == {"announced": 1, "superseded": 0, "tasks": 1, "notified": 1}
    [note] = ok("users", "notifications", "sara", "--json").json()
    assert note["kind"] == "reminder" and note["link"] == f"/p/tasks/tasks/{task['id']}"
    assert note["title"].startswith("یادآوری: تماس برای تمدید قرارداد، مریم کریمی، ")
    assert note["body"] == "داخلی: مشتری بدحساب است"
    assert note["deliveries"] == {
        "web": "listed",
        "email": "queued",
        "sms": "queued",
        "pop": "published",
    }
    # the salesperson's own email and phone; nothing for the customer
    [(to, email)] = inbox.messages
    assert to == ["sara@shop.ir"] and email["Subject"] == note["title"]
    assert "داخلی: مشتری بدحساب است" in email.get_content()
    lines = [json.loads(x) for x in sms_file.read_text(encoding="utf-8").splitlines()]
    assert [line["to"] for line in lines] == ["+989121110000"]
    assert ok("messages", "log", "--json").json() == []
    # the job again: nothing new anywhere
    ok("jobs", "run")
    assert len(ok("users", "notifications", "sara", "--json").json()) == 1
    assert len(inbox.messages) == 1 and len(sms_file.read_text(encoding="utf-8").splitlines()) == 1


def test_a_tasks_user_without_a_login_is_reminded_at_their_own_address(crm_cli, crm_app, smtp):
    port, inbox = smtp
    assert (
        crm_cli(
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
            "sender=crm@shop.ir",
        ).exit_code
        == 0
    )
    assert crm_cli("tasks", "users", "add", "reza", "--email", "reza@shop.ir").exit_code == 0
    customer = make_customer(crm_app, "مریم کریمی", phones=[CUSTOMER_PHONE], consent_sms=True)
    assert (
        crm_cli(
            "tasks",
            "add",
            str(customer),
            "--title",
            "ارسال نمونه",
            "--due",
            "+10m",
            "--user",
            "reza",
            "--remind",
            "15m",
        ).exit_code
        == 0
    )
    ran = {j["job"]: j["summary"] for j in crm_cli("jobs", "run", "--json").json()}
    assert ran["tasks.reminders"]["notified"] == 1
    [(to, email)] = inbox.messages
    assert to == ["reza@shop.ir"] and email["Subject"].startswith(
        "یادآوری: ارسال نمونه، مریم کریمی"
    )
