"""Incoming email from real .eml files (tests/fixtures/email) and a Maildir: threading, new customers, rejects."""

import mailbox
from pathlib import Path

import pytest
from crmcore_tickets import service
from crmcore_tickets.email_in import import_emails, parse_message
from crmcore_tickets.models import Ticket
from sqlalchemy import select
from tickets_helpers import at

from crmcore.api import Customer, ValidationError
from crmcore.testing import make_customer, outbox_events

FIXTURES = Path(__file__).parent / "fixtures" / "email"


def eml(name):
    return FIXTURES / name


@pytest.fixture
def app(crm_app, monkeypatch):
    monkeypatch.setenv("CRM_TICKETS_EMAIL_DOMAIN", "tickets.shop.example")
    from crmcore_tickets.agents import add_agent

    with crm_app.unit_of_work() as uow:
        add_agent(uow, "sara", name="سارا")
    return crm_app


def tickets(app):
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(select(Ticket).order_by(Ticket.id)).all()
        return [
            (t.id, t.state, t.channel, t.follow_up_of_id, [(m.author, m.body) for m in t.messages])
            for t in rows
        ]


def test_parse_decodes_headers_and_prefers_plain_text():
    mail = parse_message(eml("01_new_request.eml").read_bytes(), "01")
    assert (mail.from_name, mail.from_address) == ("لیلا احمدی", "leila.ahmadi@example.ir")
    assert mail.subject == "سفارش ۴۵۲۱ نرسیده"
    assert mail.message_id == "<CAF3x9k1-order4521@mail.example.ir>"
    assert mail.body.startswith("سلام،\nسفارش شماره ۴۵۲۱") and "<p>" not in mail.body


def test_html_in_windows_1256_becomes_text():
    mail = parse_message(eml("04_html_windows1256.eml").read_bytes(), "04")
    assert mail.body == "با سلام\nفاكتور رسمي سفارش را مي\u200cخواهيم.\nشركت بازرگاني كريمي"
    assert "color" not in mail.body


def test_new_request_then_threaded_reply_then_subject_tag(app):
    at(app, 2025, 1, 4, 9, 13)
    result = import_emails(app, [eml("01_new_request.eml")])
    assert [r["action"] for r in result["imported"]] == ["opened"] and result["imported"][0][
        "new_customer"
    ]
    with app.unit_of_work(readonly=True) as uow:
        c = uow.session.scalars(select(Customer)).one()
        assert (c.display_name, [e.email for e in c.emails]) == (
            "لیلا احمدی",
            ["leila.ahmadi@example.ir"],
        )
    at(app, 2025, 1, 4, 10, 5)
    with app.unit_of_work() as uow:
        reply = service.agent_reply(uow, 1, "سفارش شما ارسال شده است.", agent="sara", pending=True)
        assert reply.email_message_id == "<ticket-1-2@tickets.shop.example>"
    at(app, 2025, 1, 4, 11, 40)
    result = import_emails(app, [eml("02_reply_in_thread.eml")])
    assert (
        result["imported"][0]["action"] == "replied" and not result["imported"][0]["new_customer"]
    )
    [(tid, state, channel, _, messages)] = tickets(app)
    assert (tid, state, channel) == (
        1,
        "open",
        "email",
    )  # the customer's answer resumed the pending ticket
    assert messages[-1] == ("customer", "ممنون، کد رهگیری را هم بفرستید.")  # quoted part dropped
    result = import_emails(app, [eml("03_reply_by_subject_tag.eml")])  # "[#۱]" in Persian digits
    assert result["imported"][0]["action"] == "replied"
    assert len(tickets(app)[0][4]) == 4
    assert len(outbox_events(app, "tickets_ticket_opened")) == 1


def test_reply_to_a_closed_ticket_opens_a_linked_follow_up(app):
    import_emails(app, [eml("01_new_request.eml")])
    with app.unit_of_work() as uow:
        service.close(uow, 1)
    result = import_emails(app, [eml("03_reply_by_subject_tag.eml")])
    assert result["imported"][0]["action"] == "follow_up"
    assert [(t[0], t[1], t[3]) for t in tickets(app)] == [(1, "closed", None), (2, "new", 1)]


def test_tag_of_someone_elses_ticket_does_not_thread(app):
    other = make_customer(app, "کسی دیگر", emails=["other@example.ir"])
    with app.unit_of_work() as uow:
        service.open_ticket(uow, other, subject="x", body="y")
    result = import_emails(app, [eml("03_reply_by_subject_tag.eml")])
    assert result["imported"][0]["action"] == "opened" and result["imported"][0]["ticket"] == 2


def test_maildir_import_marks_seen_rejects_bad_messages_and_is_idempotent(app, tmp_path):
    box = mailbox.Maildir(str(tmp_path / "support"), create=True)
    for path in sorted(FIXTURES.glob("*.eml")):
        box.add(mailbox.MaildirMessage(path.read_bytes()))
    result = import_emails(app, [tmp_path / "support"])
    assert sorted(r["action"] for r in result["imported"]) == [
        "opened",
        "opened",
        "replied",
        "replied",
    ]
    reasons = sorted(r["reason"] for r in result["rejected"])
    assert reasons == [
        "an automatic message (Auto-Submitted: auto-replied) is not turned into a ticket",
        "the message has no From address",
    ]
    box = mailbox.Maildir(str(tmp_path / "support"), create=False)
    flags = sorted("S" in box.get_message(k).get_flags() for k in box.keys())
    assert flags == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]  # rejected messages stay unseen for a human
    again = import_emails(app, [tmp_path / "support"])
    assert again["imported"] == [] and len(again["rejected"]) == 2
    everything = import_emails(app, [tmp_path / "support"], include_seen=True)
    assert [r["action"] for r in everything["imported"]] == ["duplicate"] * 4
    assert len(tickets(app)) == 2


def test_a_failing_message_rolls_back_the_whole_import(app, tmp_path):
    bad = tmp_path / "long.eml"
    body = "x" * 100_001
    bad.write_text(
        f"From: a@example.ir\r\nSubject: long\r\nMessage-ID: <l@x>\r\n\r\n{body}\r\n",
        encoding="ascii",
    )
    with pytest.raises(
        ValidationError, match=r"long\.eml: the body is longer than 100000 characters"
    ):
        import_emails(app, [eml("01_new_request.eml"), bad])
    assert tickets(app) == []


def test_missing_path_and_plain_directory_are_refused(app, tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        import_emails(app, [tmp_path / "nope.eml"])
    with pytest.raises(ValidationError, match="not a Maildir"):
        import_emails(app, [tmp_path])
