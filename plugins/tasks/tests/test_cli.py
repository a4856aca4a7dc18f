from pathlib import Path

from crmcore_tasks.models import Task
from icalendar import Calendar

FIXTURES = Path(__file__).parent / "fixtures"


def test_users_add_task_list_done_and_json(crm_cli, customer, h):
    assert (
        crm_cli(
            "tasks", "users", "add", "sara", "--name", "سارا احمدی", "--email", "sara@example.ir"
        ).exit_code
        == 0
    )
    assert crm_cli("tasks", "users", "list", "--json").json() == [
        {
            "username": "sara",
            "display_name": "سارا احمدی",
            "email": "sara@example.ir",
            "active": True,
        }
    ]
    added = crm_cli(
        "tasks",
        "add",
        str(customer),
        "--title",
        "تماس مجدد",
        "--kind",
        "call_back",
        "--due",
        "1404-01-05 10:30",
        "--user",
        "sara",
        "--remind",
        "15m",
        "--ref",
        "deal:3",
        "--json",
    )
    assert added.exit_code == 0, added
    data = added.json()
    assert data["due"] == "2025-03-25 10:30" and data["customer_name"] == "مریم رضایی"
    listed = crm_cli("tasks", "list", "--user", "sara", "--json").json()
    assert [t["id"] for t in listed] == [data["id"]]
    jalali = crm_cli("--calendar", "jalali", "tasks", "show", str(data["id"]), "--json").json()
    assert jalali["due"] == "1404-01-05 10:30"
    done = crm_cli("tasks", "done", str(data["id"]), "--json")
    assert done.json()["state"] == "done"
    assert crm_cli("tasks", "list", "--json").json() == []
    assert len(crm_cli("tasks", "list", "--state", "done", "--json").json()) == 1


def test_bad_input_exits_1_with_one_line_and_stores_nothing(crm_cli, customer, h):
    for args, message in [
        (
            ["--due", "1404-12-30 10:00"],
            "field due: '1404-12-30 10:00' is not a date in the Jalali calendar",
        ),
        (
            ["--due", "+1h", "--repeat", "FREQ=SOMETIMES"],
            "field rrule: recurrence rule 'FREQ=SOMETIMES' needs FREQ=",
        ),
        (["--due", "+1h", "--user", "ghost"], "field assignee: unknown assignee 'ghost'"),
    ]:
        result = crm_cli("tasks", "add", str(customer), "--title", "x", *args)
        assert result.exit_code == 1
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert h.count(Task) == 0
    assert crm_cli("tasks", "done", "77").exit_code == 1


def test_snooze_cancel_and_agenda(crm_cli, crm_app, customer, h):
    crm_cli("tasks", "users", "add", "sara")
    old = h.add(customer, title="دیروز", due="2025-03-20 10:00", assignee="sara")
    today = h.add(customer, title="امروز", due="2025-03-21 16:00", assignee="sara")
    agenda = crm_cli("tasks", "agenda", "--user", "sara", "--json").json()
    assert [t["id"] for t in agenda["overdue"]] == [old] and [t["id"] for t in agenda["today"]] == [
        today
    ]
    assert agenda["overdue"][0]["overdue"] is True
    snoozed = crm_cli("tasks", "snooze", str(old), "--until", "1404-01-01 18:00", "--json").json()
    assert snoozed["due"] == "2025-03-21 18:00"
    assert crm_cli("tasks", "cancel", str(today)).exit_code == 0
    agenda = crm_cli("tasks", "agenda", "--user", "sara", "--json").json()
    assert agenda["overdue"] == [] and [t["id"] for t in agenda["today"]] == [old]


def test_agenda_table_uses_jalali_dates_and_persian_headings_in_a_persian_locale(
    crm_cli, customer, h
):
    crm_cli("tasks", "users", "add", "sara")
    h.add(customer, title="تماس با مشتری", due="2025-03-21 16:00", assignee="sara")
    fa = crm_cli(
        "tasks",
        "agenda",
        "--user",
        "sara",
        env={"LANG": "fa_IR.UTF-8", "LC_ALL": "", "COLUMNS": "160"},
    )
    assert fa.exit_code == 0
    assert "1404-01-01 16:00" in fa.stdout and "امروز" in fa.stdout and "تماس با مشتری" in fa.stdout
    en = crm_cli(
        "tasks",
        "agenda",
        "--user",
        "sara",
        env={"LANG": "en_US.UTF-8", "LC_ALL": "", "COLUMNS": "160"},
    )
    assert "2025-03-21 16:00" in en.stdout and "Today" in en.stdout
    explicit = crm_cli(
        "--calendar",
        "gregorian",
        "tasks",
        "agenda",
        "--user",
        "sara",
        env={"LANG": "fa_IR.UTF-8", "LC_ALL": "", "COLUMNS": "160"},
    )
    assert "2025-03-21 16:00" in explicit.stdout


def test_ical_command_writes_a_calendar_and_import_reads_one(crm_cli, customer, h, tmp_path):
    crm_cli("tasks", "users", "add", "sara")
    h.add(customer, kind="meeting", title="جلسه", due="1404-01-02 10:00", assignee="sara")
    out = crm_cli("tasks", "ical", "--user", "sara")
    assert out.exit_code == 0
    cal = Calendar.from_ical(out.stdout.encode())
    assert [str(e["X-CRMCORE-TITLE"]) for e in cal.walk("VEVENT")] == ["جلسه"]
    target = tmp_path / "sara.ics"
    assert crm_cli("tasks", "ical", "--user", "sara", "-o", str(target)).exit_code == 0
    assert (
        target.read_bytes().replace(b"\r\n", b"\n") == out.stdout.encode()
    )  # the runner reads \r\n as \n

    dry = crm_cli(
        "tasks",
        "import",
        str(FIXTURES / "outlook.ics"),
        "--customer",
        str(customer),
        "--dry-run",
        "--json",
    )
    assert dry.json()["dry_run"] is True and len(dry.json()["created"]) == 3
    assert h.count(Task) == 1
    real = crm_cli(
        "tasks",
        "import",
        str(FIXTURES / "outlook.ics"),
        "--customer",
        str(customer),
        "--user",
        "sara",
    )
    assert real.exit_code == 0 and real.stdout.startswith("3 created")
    assert h.count(Task) == 4
    bad = crm_cli("tasks", "import", str(FIXTURES / "contact.vcf.ics"))
    assert bad.exit_code == 1 and "not an iCalendar file" in bad.stderr


def test_reports_run_through_the_kernel_cli(crm_cli, crm_app, customer, h):
    crm_cli("tasks", "users", "add", "sara")
    h.add(customer, title="late", due="2025-03-19 10:00", assignee="sara")
    report = crm_cli("reports", "run", "tasks.overdue", "--json").json()
    assert report["rows"][0][5] == "late" and report["rows"][0][7] == 2
    assert report["totals"] == {"overdue": 1, "by_assignee": {"sara": 1}}


def test_a_nul_in_a_title_or_notes_is_refused_and_nothing_stored(crm_cli, customer, h):
    for args, field in (
        (["--title", "تماس\x00"], "title"),
        (["--title", "تماس", "--notes", "یادداشت\x00"], "notes"),
    ):
        result = crm_cli("tasks", "add", str(customer), "--due", "+1h", *args)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"field {field}" in lines[0] and "U+0000" in lines[0]
    assert h.count(Task) == 0
