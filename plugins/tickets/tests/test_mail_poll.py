"""Mailbox polling against a real IMAP server (dovecot, started here) and a Maildir: a new mail
opens a ticket, an answer becomes a reply in its thread, polling twice stores nothing twice, a
failing source is reported in one line and the others are read."""

import mailbox
import shutil
import ssl
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from crmcore_tickets import service
from crmcore_tickets.mail_sources import list_sources, watch
from crmcore_tickets.models import Ticket
from imap_server import MISSING, free_port, start_dovecot
from imapclient import IMAPClient
from sqlalchemy import select
from tickets_helpers import at

FIXTURES = Path(__file__).parent / "fixtures" / "email"
PASSWORD_VAR = "CRM_TEST_IMAP_PASSWORD"
needs_dovecot = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def dovecot():
    # not under pytest's tmp dir: that is private to us, and dovecot's helpers run as other users
    root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    server = start_dovecot(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def desk(crm_app, crm_cli, monkeypatch):
    monkeypatch.setenv("CRM_TICKETS_EMAIL_DOMAIN", "tickets.shop.example")
    at(crm_app, 2025, 1, 4, 10, 0)  # Saturday, after the fixture mail was written
    assert crm_cli("tickets", "agent", "add", "sara", "--name", "سارا").exit_code == 0
    return crm_cli


@pytest.fixture
def imap(dovecot, desk, monkeypatch):
    """A fresh mailbox, its password in the environment, and the customer's side: a client that
    drops mail into it."""
    username, password = dovecot.mailbox()
    monkeypatch.setenv(PASSWORD_VAR, password)
    client = IMAPClient(
        "127.0.0.1",
        port=dovecot.tls_port,
        ssl=True,
        ssl_context=ssl.create_default_context(cafile=str(dovecot.ca_file)),
    )
    client.plain_login(username, password)
    yield username, client
    client.logout()


def add_imap(desk, dovecot, username, name="shop", *extra):
    result = desk(
        "tickets",
        "email",
        "sources",
        "add",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        str(dovecot.starttls_port),
        "--security",
        "starttls",
        "--username",
        username,
        "--password",
        f"env:{PASSWORD_VAR}",
        "--ca-file",
        str(dovecot.ca_file),
        *extra,
    )
    assert result.exit_code == 0, result
    return result


def drop(client, name, folder="INBOX"):
    client.append(folder, (FIXTURES / name).read_bytes())


def poll(desk, *args):
    return desk("tickets", "email", "poll", "--once", *args)


def tickets(app):
    with app.unit_of_work(readonly=True) as uow:
        return [
            (t.id, t.state, t.created_at, [(m.author, m.body) for m in t.messages])
            for t in uow.session.scalars(select(Ticket).order_by(Ticket.id))
        ]


def answer_first_ticket(app):
    at(app, 2025, 1, 4, 10, 5)
    with app.unit_of_work() as uow:
        reply = service.agent_reply(uow, 1, "سفارش شما ارسال شده است.", agent="sara")
        assert reply.email_message_id == "<ticket-1-2@tickets.shop.example>"  # 02 answers this id
    at(app, 2025, 1, 4, 11, 45)


@needs_dovecot
def test_imap_new_mail_opens_a_ticket_and_the_answer_threads_into_it(desk, crm_app, dovecot, imap):
    username, customer = imap
    add_imap(desk, dovecot, username, "shop", "--move-to", "Tickets")
    drop(customer, "01_new_request.eml")
    result = poll(desk)
    assert (result.exit_code, result.stdout) == (0, "shop: 1 opened\n")
    [(tid, state, opened_at, messages)] = tickets(crm_app)
    # the ticket is dated by the mail's Date (09:12 Tehran), not by when it was polled
    assert (tid, opened_at) == (1, datetime(2025, 1, 4, 5, 42, 33, tzinfo=timezone.utc))
    answer_first_ticket(crm_app)
    drop(customer, "02_reply_in_thread.eml")
    assert poll(desk).stdout == "shop: 1 replied\n"
    [(_, state, _, messages)] = tickets(crm_app)
    assert state == "open" and messages[-1] == ("customer", "ممنون، کد رهگیری را هم بفرستید.")
    # both were moved out of the INBOX once they were tickets: the next poll finds nothing
    assert poll(desk).stdout == "shop: no new mail\n"
    customer.select_folder("INBOX")
    assert customer.search(["ALL"]) == []
    customer.select_folder("Tickets")
    assert len(customer.search(["ALL"])) == 2
    # the same mail delivered again (a second copy of the same Message-ID) is not stored twice
    drop(customer, "01_new_request.eml")
    assert poll(desk).stdout == "shop: 1 duplicate\n"
    assert len(tickets(crm_app)) == 1 and len(tickets(crm_app)[0][3]) == 3


@needs_dovecot
def test_a_crash_between_storing_and_marking_neither_loses_nor_doubles(
    desk, crm_app, dovecot, imap
):
    username, customer = imap
    add_imap(desk, dovecot, username)
    customer.append(
        "INBOX",
        b"From: Reza <reza@example.ir>\r\nSubject: no id\r\n"
        b"Date: Sat, 04 Jan 2025 09:30:00 +0330\r\n\r\nwhere is my order?\r\n",
    )
    drop(customer, "01_new_request.eml")
    assert poll(desk).stdout == "shop: 2 opened\n"
    customer.select_folder("INBOX")
    seen = customer.search(["SEEN"])
    assert len(seen) == 2  # marked seen, left in the folder (no --move-to)
    # as if the poller died after the commit, before telling the server: the flags are gone
    customer.remove_flags(seen, [b"\\Seen"])
    assert poll(desk).stdout == "shop: 2 duplicate\n"
    assert len(tickets(crm_app)) == 2
    customer.noop()  # this session learns of the other session's flags
    assert sorted(customer.search(["SEEN"])) == sorted(seen)
    assert poll(desk).stdout == "shop: no new mail\n"


@needs_dovecot
def test_implicit_tls_rejects_auto_replies_once_and_the_job_polls(desk, crm_app, dovecot, imap):
    username, customer = imap
    assert (
        desk(
            "tickets",
            "email",
            "sources",
            "add",
            "tls",
            "--host",
            "127.0.0.1",
            "--port",
            str(dovecot.tls_port),
            "--username",
            username,
            "--password",
            f"env:{PASSWORD_VAR}",
            "--ca-file",
            str(dovecot.ca_file),
        ).exit_code
        == 0
    )
    drop(customer, "06_auto_reply.eml")
    drop(customer, "01_new_request.eml")
    jobs = desk("jobs", "run", "--only", "tickets.mail_poll", "--json").json()
    summary = jobs[0]["summary"]
    assert (summary["opened"], summary["rejected"], summary["failed"]) == (1, 1, {})
    # the auto-reply was reported once; it stays in the folder, seen, for a person to look at
    again = poll(desk)
    assert (again.exit_code, again.stdout) == (0, "tls: no new mail\n")
    customer.select_folder("INBOX")
    assert len(customer.search(["SEEN"])) == 2 and len(tickets(crm_app)) == 1


@needs_dovecot
def test_a_failing_source_is_one_line_and_the_others_are_read(
    desk, crm_app, dovecot, imap, tmp_path, monkeypatch
):
    username, customer = imap
    add_imap(desk, dovecot, username, "good")
    add_imap(desk, dovecot, username, "nopass")
    desk(
        "tickets",
        "email",
        "sources",
        "add",
        "wrongpw",
        "--host",
        "127.0.0.1",
        "--port",
        str(dovecot.starttls_port),
        "--security",
        "starttls",
        "--username",
        username,
        "--password",
        "env:CRM_TEST_WRONG_PW",
        "--ca-file",
        str(dovecot.ca_file),
    )
    desk(
        "tickets",
        "email",
        "sources",
        "add",
        "down",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        "--username",
        "x",
        "--password",
        f"env:{PASSWORD_VAR}",
    )
    desk(
        "tickets",
        "email",
        "sources",
        "add",
        "notls",
        "--host",
        "127.0.0.1",
        "--port",
        str(dovecot.tls_port),
        "--username",
        username,
        "--password",
        f"env:{PASSWORD_VAR}",
    )
    monkeypatch.setenv("CRM_TEST_WRONG_PW", "not-it")
    with crm_app.unit_of_work() as uow:  # the variable of 'nopass' is then taken away
        from crmcore_tickets.mail_sources import add_source

        add_source(
            uow,
            "nopass",
            kind="imap",
            host="127.0.0.1",
            port=dovecot.starttls_port,
            security="starttls",
            username=username,
            password="env:CRM_TEST_UNSET_PW",
            ca_file=str(dovecot.ca_file),
            replace=True,
        )
    drop(customer, "01_new_request.eml")
    result = poll(desk)
    assert result.exit_code == 1
    assert result.stdout == "good: 1 opened\n"
    lines = dict(line.split(": failed: ", 1) for line in result.stderr.splitlines())
    assert set(lines) == {"down", "nopass", "notls", "wrongpw"}
    assert lines["nopass"] == (
        "the password is read from the environment variable CRM_TEST_UNSET_PW, which is not set"
    )
    assert lines["wrongpw"].startswith(f"login refused by 127.0.0.1:{dovecot.starttls_port}: ")
    assert lines["down"].startswith("cannot connect to 127.0.0.1:") and "refused" in lines["down"]
    # a server with its own certificate is not trusted without --ca-file
    assert lines["notls"] == (
        f"the certificate of 127.0.0.1:{dovecot.tls_port} is not trusted "
        "(self-signed certificate); give --ca-file for a server with its "
        "own certificate"
    )
    test = desk("tickets", "email", "sources", "test")
    assert test.exit_code == 1 and test.stdout == "good: ok, 0 waiting (IDLE)\n"
    assert len(test.stderr.splitlines()) == 4
    assert len(tickets(crm_app)) == 1


def test_sources_keep_the_password_out_of_the_database_and_the_output(desk, crm_app, monkeypatch):
    monkeypatch.setenv(PASSWORD_VAR, "very-secret-1403")
    literal = desk(
        "tickets",
        "email",
        "sources",
        "add",
        "shop",
        "--host",
        "imap.shop.example",
        "--username",
        "support@shop.example",
        "--password",
        "very-secret-1403",
    )
    assert literal.exit_code == 1
    assert "the password is given as env:NAME" in literal.stderr
    assert len(literal.stderr.strip().splitlines()) == 1
    missing = desk(
        "tickets",
        "email",
        "sources",
        "add",
        "shop",
        "--host",
        "imap.shop.example",
        "--password",
        f"env:{PASSWORD_VAR}",
    )
    assert missing.exit_code == 1 and "an imap source needs --username" in missing.stderr
    with crm_app.unit_of_work(readonly=True) as uow:
        assert list_sources(uow) == []
    added = desk(
        "tickets",
        "email",
        "sources",
        "add",
        "shop",
        "--host",
        "imap.shop.example",
        "--username",
        "support@shop.example",
        "--password",
        f"env:{PASSWORD_VAR}",
    )
    assert added.stdout == (
        "shop\timap support@shop.example@imap.shop.example:993 (tls) "
        "folder INBOX, then marked seen\n"
    )
    again = desk("tickets", "email", "sources", "add", "shop", "--kind", "maildir", "--path", "x")
    assert again.exit_code == 1 and "exists already" in again.stderr
    listed = desk("tickets", "email", "sources", "list")
    as_json = desk("tickets", "email", "sources", "list", "--json")
    for out in (listed.stdout, as_json.stdout):
        assert "very-secret-1403" not in out
    assert as_json.json()[0]["password"] == f"env:{PASSWORD_VAR}"
    assert desk("tickets", "email", "sources", "remove", "shop").exit_code == 0
    gone = desk("tickets", "email", "sources", "remove", "shop")
    assert gone.exit_code == 1 and "no email source named 'shop'" in gone.stderr


def test_a_maildir_source_works_the_same(desk, crm_app, tmp_path):
    box = mailbox.Maildir(str(tmp_path / "support"), create=True)
    box.add(mailbox.MaildirMessage((FIXTURES / "01_new_request.eml").read_bytes()))
    assert (
        desk(
            "tickets",
            "email",
            "sources",
            "add",
            "local",
            "--kind",
            "maildir",
            "--path",
            str(tmp_path / "support"),
        ).exit_code
        == 0
    )
    assert poll(desk).stdout == "local: 1 opened\n"
    answer_first_ticket(crm_app)
    box.add(mailbox.MaildirMessage((FIXTURES / "02_reply_in_thread.eml").read_bytes()))
    assert poll(desk).stdout == "local: 1 replied\n"
    assert poll(desk).stdout == "local: no new mail\n"
    [(_, _, _, messages)] = tickets(crm_app)
    assert [m[0] for m in messages] == ["customer", "agent", "customer"]
    # un-seeing everything (a crash before the flags were written) doubles nothing
    box = mailbox.Maildir(str(tmp_path / "support"), create=False)
    for key in box.keys():
        message = box.get_message(key)
        message.remove_flag("S")
        box[key] = message
    assert poll(desk, "--json").json()[0]["imported"][0]["action"] == "duplicate"
    assert len(tickets(crm_app)) == 1 and len(tickets(crm_app)[0][3]) == 3


@needs_dovecot
def test_watching_with_idle_reads_a_new_mail_at_once(desk, crm_app, dovecot, imap):
    username, customer = imap
    add_imap(desk, dovecot, username)
    with crm_app.unit_of_work(readonly=True) as uow:
        sources = list_sources(uow)
    reports, stop = [], threading.Event()
    # a poll every 10 minutes: only IDLE can bring the mail in within the test's few seconds
    watcher = threading.Thread(
        target=watch, args=(crm_app, sources, reports.append, stop), kwargs={"interval": 600}
    )
    watcher.start()
    try:
        deadline = time.monotonic() + 15
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reports and reports[0]["imported"] == [] and reports[0]["error"] is None
        drop(customer, "01_new_request.eml")
        while len(reports) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r["action"] for r in reports[1]["imported"]] == ["opened"]
    finally:
        stop.set()
        watcher.join(10)
    assert not watcher.is_alive()
    assert len(tickets(crm_app)) == 1


@needs_dovecot
def test_a_manager_checks_mail_from_the_queue_page(desk, crm_app, dovecot, imap, monkeypatch):
    from argon2 import PasswordHasher, profiles

    from crmcore.testing import add_user
    from crmcore.testing.web import login, web_client

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    username, customer = imap
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "mina", "a long enough password", "manager")
        add_user(uow, "sara", "a long enough password", "agent")
    with web_client(crm_app) as client:
        csrf = login(client, "mina", "a long enough password")
        assert 'id="check-mail"' not in client.get("/p/tickets/queue").text  # no source yet
        add_imap(desk, dovecot, username)
        desk(
            "tickets",
            "email",
            "sources",
            "add",
            "down",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--username",
            "x",
            "--password",
            f"env:{PASSWORD_VAR}",
        )
        drop(customer, "01_new_request.eml")
        page = client.get("/p/tickets/queue")
        assert 'action="/p/tickets/queue/check-mail"' in page.text
        checked = client.post("/p/tickets/queue/check-mail", data={"csrf_token": csrf})
        assert checked.status_code == 200
        report = checked.text.split('id="mail-report"')[1].split("</section>")[0]
        assert "<bdi>shop</bdi>:" in report and "۱ تیکت تازه" in report
        assert "cannot connect to 127.0.0.1:" in report  # 'down' is one line, 'shop' still read
        assert "سفارش ۴۵۲۱ نرسیده" in checked.text  # the new ticket is in the queue below
        again = client.post("/p/tickets/queue/check-mail", data={"csrf_token": csrf})
        assert "ایمیل تازه‌ای نیست" in again.text.split('id="mail-report"')[1]
        api = client.post("/api/p/tickets/mail/check", headers={"X-CSRF-Token": csrf})
        assert api.status_code == 200, api.text
        assert {r["source"]: r["imported"] for r in api.json()}["shop"] == []
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(
            client, "sara", "a long enough password"
        )  # an agent answers tickets but does not run the mailboxes
        assert 'id="check-mail"' not in client.get("/p/tickets/queue").text
        refused = client.post("/p/tickets/queue/check-mail", data={"csrf_token": csrf})
        assert refused.status_code == 403
    assert len(tickets(crm_app)) == 1
