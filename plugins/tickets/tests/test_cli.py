"""`crm tickets …` end to end: exit codes, one-line errors, --json, Jalali display."""

from pathlib import Path

import pytest
from tickets_helpers import at

from crmcore.testing import make_customer


@pytest.fixture(autouse=True)
def cli_shares_the_frozen_clock(crm_app, monkeypatch):
    """crm_cli builds its own CRM with the real clock; point the default clock at crm_app's frozen one."""
    monkeypatch.setattr("crmcore.app.utcnow", crm_app.clock)


def setup_desk(crm_cli):
    for args in (
        ["team", "add", "پشتیبانی", "--assignment", "least_loaded"],
        ["agent", "add", "sara", "--name", "سارا", "--team", "پشتیبانی"],
        ["agent", "add", "reza", "--team", "پشتیبانی"],
        ["calendar", "holiday-add", "۱۴۰۳/۱۰/۱۶", "--name", "تعطیل ویژه"],
        [
            "sla",
            "set",
            "عادی",
            "--priority",
            "normal",
            "--first-response",
            "2h",
            "--resolution",
            "16h",
        ],
    ):
        result = crm_cli("tickets", *args)
        assert result.exit_code == 0, (args, result.stderr)


def test_open_reply_close_csat_through_the_cli(crm_app, crm_cli):
    setup_desk(crm_cli)
    make_customer(crm_app, "مهسا یزدانی", phones=["09121112233"])
    at(crm_app, 2025, 1, 4, 16, 30)  # Saturday 16:30; Sunday 1403-10-16 is a holiday
    opened = crm_cli(
        "tickets",
        "open",
        "۰۹۱۲۱۱۱۲۲۳۳",
        "--subject",
        "گارانتی",
        "--body",
        "دستگاه روشن نمی‌شود",
        "--team",
        "پشتیبانی",
        "--tag",
        "گارانتی",
        "--json",
    )
    assert opened.exit_code == 0, opened.stderr
    t = opened.json()
    assert (t["assignee"], t["state"], t["tags"]) == ("sara", "new", ["گارانتی"])
    assert t["sla"]["first_response_due_at"] == "2025-01-06T07:00:00+00:00"  # Monday 10:30 Tehran
    listed = crm_cli("--calendar", "jalali", "tickets", "list")
    assert listed.stdout.strip() == f"#{t['id']}\tnew\tnormal\tsara\tگارانتی due 1403-10-17 10:30"
    at(crm_app, 2025, 1, 6, 9)
    replied = crm_cli(
        "tickets",
        "reply",
        str(t["id"]),
        "--agent",
        "sara",
        "--body",
        "لطفاً فاکتور را بفرستید",
        "--pending",
        "--json",
    )
    assert replied.json()["state"] == "pending_customer"
    assert (
        crm_cli(
            "tickets", "note", str(t["id"]), "--agent", "reza", "--body", "قبلاً تعمیر شده"
        ).exit_code
        == 0
    )
    assert (
        crm_cli(
            "tickets", "reply", str(t["id"]), "--customer", "--body", "فاکتور پیوست شد"
        ).exit_code
        == 0
    )
    assert crm_cli("tickets", "close", str(t["id"])).exit_code == 0
    assert crm_cli("tickets", "csat", str(t["id"]), "۵", "--comment", "عالی").exit_code == 0
    shown = crm_cli("tickets", "show", str(t["id"]), "--json").json()
    assert [(m["author"], m["kind"]) for m in shown["messages"]] == [
        ("customer", "reply"),
        ("agent", "reply"),
        ("agent", "note"),
        ("customer", "reply"),
    ]
    assert shown["csat"]["score"] == 5 and shown["state"] == "closed"
    text = crm_cli("--calendar", "jalali", "tickets", "show", str(t["id"])).stdout
    assert (
        "opened 1403-10-15 16:30" in text
        and "CSAT 5/5 عالی" in text
        and "reza (note): قبلاً تعمیر شده" in text
    )


def test_errors_are_one_line_exit_1_and_change_nothing(crm_app, crm_cli):
    setup_desk(crm_cli)
    cid = make_customer(crm_app, "بهرام")
    tid = crm_cli("tickets", "open", str(cid), "--subject", "x").stdout.strip()
    crm_cli("tickets", "close", tid)
    cases = [
        (
            ["reply", tid, "--customer", "--body", "hi"],
            f"ticket #{tid} is closed; closed tickets are final",
        ),
        (["reply", tid, "--agent", "ghost", "--body", "x"], "no agent named 'ghost'"),
        (
            ["sla", "set", "bad", "--first-response", "-1h", "--resolution", "2h"],
            "first-response target must be a positive business time",
        ),
        (
            [
                "calendar",
                "set",
                "shop",
                "--hours",
                "sat-wed 09:00-17:00",
                "--hours",
                "mon 08:00-10:00",
            ],
            "overlapping hours on mon",
        ),
        (
            ["calendar", "holiday-add", "1403-11-22", "--date-calendar", "hijri"],
            "unknown calendar 'hijri'",
        ),
        (
            ["calendar", "holiday-add", "1403-11-22", "--calendar", "شعبه ۲"],
            "no business calendar named 'شعبه ۲'",
        ),
        (["open", "nobody@example.ir", "--subject", "x"], "no customer matches"),
        (["show", "99"], "no ticket #99"),
    ]
    for args, message in cases:
        result = crm_cli("tickets", *args)
        assert result.exit_code == 1, (args, result.stdout)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
            result.stderr
        )
    listed = crm_cli("tickets", "list", "--json").json()
    assert [(x["id"], x["state"], x["assignee"]) for x in listed] == [(int(tid), "closed", None)]
    assert crm_cli("tickets", "sla", "list", "--json").json()[0]["name"] == "عادی"
    assert [c["name"] for c in [crm_cli("tickets", "calendar", "show", "--json").json()]] == [
        "default"
    ]


def test_reply_needs_exactly_one_author(crm_app, crm_cli):
    cid = make_customer(crm_app, "x")
    tid = crm_cli("tickets", "open", str(cid), "--subject", "x").stdout.strip()
    assert crm_cli("tickets", "reply", tid, "--body", "b").exit_code == 2


def test_email_import_and_jobs_through_the_cli(crm_app, crm_cli):
    fixtures = Path(__file__).parent / "fixtures" / "email"
    result = crm_cli(
        "tickets",
        "email",
        "import",
        str(fixtures / "01_new_request.eml"),
        str(fixtures / "05_no_sender.eml"),
    )
    assert result.exit_code == 1  # one file was rejected; the other is imported all the same
    assert (
        result.stdout.startswith("opened #1\t")
        and "05_no_sender.eml: the message has no From address" in result.stderr
    )
    assert crm_cli("tickets", "show", "1", "--json").json()["state"] == "new"
    assert crm_cli("tickets", "email", "import", "/etc/hostname").exit_code == 1
    again = crm_cli("tickets", "email", "import", str(fixtures / "01_new_request.eml"))
    assert again.exit_code == 0 and again.stdout.startswith("duplicate")
    jobs = crm_cli("jobs", "run", "--only", "tickets.sla", "--json")
    assert jobs.json()[0]["summary"] == {
        "breached": 0,
        "warned": 0,
        "checked": 0,
    }  # no SLA policy yet
    agents = crm_cli("tickets", "agent", "list", "--json")
    assert agents.json() == []
    reports = crm_cli("reports", "list", "--json").json()
    assert {"tickets.backlog", "tickets.sla", "tickets.response_times"} <= {
        r["name"] for r in reports
    }


def test_a_nul_in_a_subject_or_body_is_refused_and_nothing_stored(crm_app, crm_cli):
    from crmcore_tickets.models import Ticket, TicketMessage
    from sqlalchemy import func, select

    make_customer(crm_app, "مهسا یزدانی", phones=["09121112233"])
    for args, field in (
        (["--subject", "گار\x00انتی", "--body", "x"], "subject"),
        (["--subject", "گارانتی", "--body", "روشن\x00نمی‌شود"], "body"),
    ):
        result = crm_cli("tickets", "open", "09121112233", *args)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"field {field}" in lines[0] and "U+0000" in lines[0]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert uow.session.scalar(select(func.count()).select_from(TicketMessage)) == 0
