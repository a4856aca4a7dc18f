"""Two-way CalDAV sync against a real Radicale server the tests start (no protocol mocks)."""

import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from crmcore_tasks.models import CalendarItem, Task

caldav = pytest.importorskip(
    "caldav", reason="the caldav client is not installed (tasks[calendar-test] extra)"
)
pytest.importorskip(
    "radicale",
    reason="radicale (the test CalDAV server) is not installed: "
    "pip install -e 'plugins/tasks[calendar-test]'",
)

from icalendar import Calendar  # noqa: E402

TEHRAN = "Asia/Tehran"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    folder = tmp_path_factory.mktemp("radicale")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--storage-filesystem-folder",
            str(folder / "collections"),
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--rights-type",
            "owner_only",
            "--logging-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"radicale did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def remote(radicale, request, monkeypatch):
    """A fresh calendar of sara on the server, and a client acting as her calendar app."""
    monkeypatch.setenv("CRM_TEST_CALDAV_PW", "secret-pw")
    client = caldav.DAVClient(url=radicale + "/", username="sara", password="secret-pw")
    cal_id = (
        f"crm-{request.node.name[:40].replace('[', '-').replace(']', '')}-{time.monotonic_ns()}"
    )
    calendar = client.principal().make_calendar(
        name="CRM", cal_id=cal_id, supported_calendar_component_set=["VEVENT", "VTODO"]
    )
    return calendar


@pytest.fixture
def connected(crm_app, crm_cli, users, remote):
    result = crm_cli(
        "tasks",
        "calendar",
        "connect",
        "sara",
        "--url",
        str(remote.url),
        "--username",
        "sara",
        "--password",
        "env:CRM_TEST_CALDAV_PW",
    )
    assert result.exit_code == 0, result.stderr
    return remote


def _sync(crm_cli, *args):
    result = crm_cli("tasks", "calendar", "sync", "sara", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return result.json()["results"][0]


def _remote_object(calendar, uid):
    return calendar.object_by_uid(uid)


def _edit(calendar, uid, change, *, modified: datetime | None = None):
    """Change the object of ``uid`` as a calendar app would (a new LAST-MODIFIED)."""
    obj = _remote_object(calendar, uid)
    cal = Calendar.from_ical(obj.data)
    main = next(
        c for c in cal.walk() if c.name in ("VEVENT", "VTODO") and c.get("RECURRENCE-ID") is None
    )
    change(cal, main)
    if "LAST-MODIFIED" in main:
        del main["LAST-MODIFIED"]
    main.add("last-modified", modified or datetime.now(timezone.utc))
    obj.data = cal.to_ical().decode()
    obj.save()


def _shift(key, delta):
    def change(cal, comp):
        value = comp[key].dt
        del comp[key]
        comp.add(key, value + delta)
        if key == "DTSTART" and "DTEND" in comp:
            end = comp["DTEND"].dt
            del comp["DTEND"]
            comp.add("dtend", end + delta)

    return change


def _task(crm_app, task_id):
    with crm_app.unit_of_work(readonly=True) as uow:
        task = uow.session.get(Task, task_id)
        return task.state, task.due_at, task.exdates


def test_round_trip_moves_completes_cancels_and_idle_sync_transfers_nothing(
    crm_app, crm_cli, connected, customer, h
):
    call = h.add(
        customer, title="تماس با مشتری", kind="call_back", due="1404-01-05 10:30", assignee="sara"
    )
    meeting = h.add(customer, title="جلسه", kind="meeting", due="1404-01-06 16:00", assignee="sara")
    gone = h.add(customer, title="ارسال نمونه", kind="task", due="1404-01-07", assignee="sara")
    first = _sync(crm_cli)
    assert sorted(first["to_calendar"]["created"]) == sorted([call, meeting, gone])
    uids = {}
    with crm_app.unit_of_work(readonly=True) as uow:
        for tid in (call, meeting, gone):
            uids[tid] = uow.session.get(Task, tid).uid
    kinds = {
        tid: _remote_object(connected, uid).icalendar_component.name for tid, uid in uids.items()
    }
    assert kinds == {call: "VTODO", meeting: "VEVENT", gone: "VTODO"}

    idle = _sync(crm_cli)  # nothing changed on either side: the sync token says so
    from crmcore_tasks.models import CalendarConnection

    with crm_app.unit_of_work(readonly=True) as uow:
        token = uow.session.get(CalendarConnection, "sara").sync_token
    assert token and list(connected.get_objects_by_sync_token(token, disable_fallback=True)) == []
    assert idle["from_calendar"] == {
        "moved": [],
        "completed": [],
        "cancelled": [],
        "updated": [],
        "created": [],
        "skipped": [],
    }
    assert idle["to_calendar"] == {"created": [], "updated": [], "removed": []}

    # in the calendar: the meeting moved a day later, the call completed, the sample deleted
    _, meeting_due, _ = _task(crm_app, meeting)
    _edit(connected, uids[meeting], _shift("DTSTART", timedelta(days=1)))

    def complete(cal, comp):
        comp["STATUS"] = "COMPLETED"
        comp.add("completed", datetime.now(timezone.utc))

    _edit(connected, uids[call], complete)
    _remote_object(connected, uids[gone]).delete()

    back = _sync(crm_cli)
    assert back["from_calendar"]["moved"] == [meeting]
    assert back["from_calendar"]["completed"] == [call]
    assert back["from_calendar"]["cancelled"] == [gone]
    assert back["to_calendar"] == {"created": [], "updated": [], "removed": []}
    assert _task(crm_app, meeting)[:2] == ("open", meeting_due + timedelta(days=1))
    assert _task(crm_app, call)[0] == "done"
    assert _task(crm_app, gone)[0] == "cancelled"
    assert h.count(CalendarItem) == 2

    again = _sync(crm_cli)
    assert again["from_calendar"]["moved"] == [] and again["to_calendar"]["updated"] == []


def test_a_task_moved_in_the_crm_moves_in_the_calendar(crm_app, crm_cli, connected, customer, h):
    from crmcore_tasks.service import reschedule_task

    tid = h.add(customer, title="بازدید", kind="visit", due="1404-01-05 10:30", assignee="sara")
    _sync(crm_cli)
    with crm_app.unit_of_work() as uow:
        uid = uow.session.get(Task, tid).uid
        reschedule_task(uow, tid, day="1404-01-10")
    out = _sync(crm_cli)
    assert out["to_calendar"] == {"created": [], "updated": [tid], "removed": []}
    start = _remote_object(connected, uid).icalendar_component["DTSTART"].dt
    assert start.isoformat() == "2025-03-30T10:30:00+03:30"
    assert _sync(crm_cli)["to_calendar"] == {"created": [], "updated": [], "removed": []}


def test_conflict_the_later_change_wins(crm_app, crm_cli, connected, customer, h):
    from crmcore_tasks.service import reschedule_task

    a = h.add(customer, title="الف", kind="meeting", due="1404-01-05 10:00", assignee="sara")
    b = h.add(customer, title="ب", kind="meeting", due="1404-01-05 12:00", assignee="sara")
    _sync(crm_cli)
    with crm_app.unit_of_work() as uow:
        uids = {t: uow.session.get(Task, t).uid for t in (a, b)}
        reschedule_task(uow, a, day="1404-01-08")  # CRM change at the frozen clock's moment
        reschedule_task(uow, b, day="1404-01-08")
        crm_moment = uow.now()
    # a: the calendar's change is later → calendar wins; b: earlier → the CRM wins
    _edit(
        connected,
        uids[a],
        _shift("DTSTART", timedelta(days=2)),
        modified=crm_moment + timedelta(hours=1),
    )
    _edit(
        connected,
        uids[b],
        _shift("DTSTART", timedelta(days=2)),
        modified=crm_moment - timedelta(hours=1),
    )
    out = _sync(crm_cli)
    winners = {c["task_id"]: c["winner"] for c in out["conflicts"]}
    assert winners == {a: "calendar", b: "crm"}
    assert (
        _task(crm_app, a)[1].isoformat() == "2025-03-27T06:30:00+00:00"
    )  # 1404-01-07 10:00 Tehran
    assert (
        _task(crm_app, b)[1].isoformat() == "2025-03-28T08:30:00+00:00"
    )  # 1404-01-08 12:00 as in CRM
    assert out["to_calendar"]["updated"] == [b]
    remote_b = _remote_object(connected, uids[b]).icalendar_component["DTSTART"].dt
    assert remote_b.isoformat() == "2025-03-28T12:00:00+03:30"


def test_recurrence_exceptions_are_kept(crm_app, crm_cli, connected, customer, h):
    tid = h.add(
        customer,
        title="جلسه هفتگی",
        kind="meeting",
        due="1404-01-05 10:00",
        assignee="sara",
        rrule="FREQ=WEEKLY;COUNT=6",
    )
    _sync(crm_cli)
    with crm_app.unit_of_work(readonly=True) as uow:
        task = uow.session.get(Task, tid)
        uid, first = task.uid, task.occurrence_at
    # in the calendar: the first occurrence moved to 14:00, the third one cancelled (EXDATE)
    obj = _remote_object(connected, uid)
    cal = Calendar.from_ical(obj.data)
    main = next(c for c in cal.walk("VEVENT"))
    from zoneinfo import ZoneInfo

    from icalendar import Event

    local = first.astimezone(ZoneInfo(TEHRAN))
    override = Event()
    override.add("uid", uid)
    override.add("recurrence-id", local)
    override.add("dtstart", local + timedelta(hours=4))
    override.add("dtend", local + timedelta(hours=5))
    override.add("summary", "moved once")
    override.add("dtstamp", datetime.now(timezone.utc))
    cal.add_component(override)
    main.add("exdate", local + timedelta(days=14))
    del main["LAST-MODIFIED"]
    main.add("last-modified", datetime.now(timezone.utc))
    obj.data = cal.to_ical().decode()
    obj.save()
    out = _sync(crm_cli)
    assert out["from_calendar"]["moved"] == [tid]
    state, due, exdates = _task(crm_app, tid)
    assert state == "open" and due == first + timedelta(hours=4)
    assert exdates == [(first + timedelta(days=14)).isoformat()]
    # completing the moved occurrence in the CRM sends the series on to its next occurrence
    from crmcore_tasks.service import complete_task

    with crm_app.unit_of_work() as uow:
        complete_task(uow, tid)
    assert _sync(crm_cli)["to_calendar"]["updated"] == [tid]
    main = _remote_object(connected, uid).icalendar_component
    assert [d.dt for d in main["EXDATE"].dts] == [local + timedelta(days=14)]
    assert "FREQ=WEEKLY" in main["RRULE"].to_ical().decode()


def test_status_hides_the_password_and_a_dead_server_is_one_line(
    crm_app, crm_cli, users, radicale, monkeypatch
):
    monkeypatch.setenv("CRM_TEST_CALDAV_PW", "secret-pw")
    bad = crm_cli(
        "tasks",
        "calendar",
        "connect",
        "sara",
        "--url",
        radicale + "/sara/x/",
        "--password",
        "plain-secret",
    )
    assert bad.exit_code == 1 and "env:NAME" in bad.stderr and "plain-secret" not in bad.stderr
    port = _free_port()
    dead = crm_cli(
        "tasks",
        "calendar",
        "connect",
        "sara",
        "--url",
        f"http://127.0.0.1:{port}/cal/",
        "--password",
        "env:CRM_TEST_CALDAV_PW",
    )
    assert dead.exit_code == 1 and len(dead.stderr.strip().splitlines()) == 1
    assert crm_cli("tasks", "calendar", "status", "--json").json() == []
    ok = crm_cli(
        "tasks",
        "calendar",
        "connect",
        "sara",
        "--url",
        f"http://127.0.0.1:{port}/cal/",
        "--username",
        "sara",
        "--password",
        "env:CRM_TEST_CALDAV_PW",
        "--no-check",
    )
    assert ok.exit_code == 0, ok.stderr
    failed = crm_cli("tasks", "calendar", "sync")
    assert failed.exit_code == 1
    assert len(failed.stderr.strip().splitlines()) == 1 and "Traceback" not in failed.stderr
    assert f"127.0.0.1:{port}" in failed.stderr
    status = crm_cli("tasks", "calendar", "status", "--json").json()
    assert status[0]["password"] == "env:CRM_TEST_CALDAV_PW" and status[0]["last_error"]
    text = crm_cli("tasks", "calendar", "status")
    assert "sara:" in text.stdout and "secret" not in text.stdout


def test_job_syncs_every_connected_calendar(crm_app, connected, customer, h, monkeypatch):
    from crmcore.testing import run_jobs

    h.add(customer, title="پیگیری", due="1404-01-05 10:30", assignee="sara")
    runs = run_jobs(crm_app, only=["tasks.calendar_sync"])
    assert runs[0]["summary"] == {"synced": 1, "transferred": 1, "failed": []}, runs
    assert h.count(CalendarItem) == 1


def test_events_made_in_the_calendar_become_tasks_and_reassigned_tasks_leave(
    crm_app, crm_cli, connected, customer, h
):
    from crmcore_tasks.service import get_task

    with_customer = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:booked-1@example.ir\r\nDTSTAMP:20250321T090000Z\r\n"
        "DTSTART;TZID=Asia/Tehran:20250325T150000\r\nDTEND;TZID=Asia/Tehran:20250325T160000\r\n"
        "SUMMARY:Fitting\r\nATTENDEE:mailto:maryam@example.ir\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    stranger = with_customer.replace("booked-1", "booked-2").replace("maryam@", "nobody@")
    connected.add_event(with_customer)
    connected.add_event(stranger)
    out = _sync(crm_cli)
    [created] = out["from_calendar"]["created"]
    assert [s["reason"] for s in out["from_calendar"]["skipped"]] == ["no matching customer"]
    with crm_app.unit_of_work(readonly=True) as uow:
        task = get_task(uow, created)
        assert (task.customer_id, task.assignee, task.uid) == (
            customer,
            "sara",
            "booked-1@example.ir",
        )
    assert _sync(crm_cli)["from_calendar"]["created"] == []

    # the task is given to reza: it leaves sara's calendar
    with crm_app.unit_of_work() as uow:
        task = get_task(uow, created)
        task.assignee = "reza"
        task.sequence += 1
    out = _sync(crm_cli)
    assert out["to_calendar"]["removed"] == [created]
    with pytest.raises(caldav.lib.error.NotFoundError):
        connected.object_by_uid("booked-1@example.ir")
    text = crm_cli("tasks", "calendar", "sync")
    assert text.exit_code == 0
    assert text.stdout == "sara: from the calendar nothing; to the calendar nothing\n"


def test_a_recurring_todo_completed_in_the_calendar_moves_on_in_both(
    crm_app, crm_cli, connected, customer, h
):
    tid = h.add(
        customer,
        title="پیگیری ماهانه",
        kind="follow_up",
        due="1404-01-05 10:00",
        assignee="sara",
        rrule="FREQ=WEEKLY;COUNT=3",
    )
    _sync(crm_cli)
    with crm_app.unit_of_work(readonly=True) as uow:
        uid, first = uow.session.get(Task, tid).uid, uow.session.get(Task, tid).due_at

    def complete(cal, comp):
        comp["STATUS"] = "COMPLETED"

    _edit(connected, uid, complete)
    out = _sync(crm_cli)
    assert out["from_calendar"]["completed"] == [tid]
    assert out["to_calendar"]["updated"] == [tid]  # the next occurrence goes back
    assert _task(crm_app, tid)[:2] == ("open", first + timedelta(days=7))
    todo = _remote_object(connected, uid).icalendar_component
    assert str(todo["STATUS"]) == "NEEDS-ACTION"
    assert todo["DUE"].dt.isoformat() == "2025-04-01T10:00:00+03:30"
    assert _sync(crm_cli)["to_calendar"]["updated"] == []


def test_a_forgotten_customer_leaves_the_calendar(crm_app, crm_cli, connected, customer, h):
    tid = h.add(customer, title="تماس با مریم رضایی", due="1404-01-05 10:30", assignee="sara")
    _sync(crm_cli)
    with crm_app.unit_of_work(readonly=True) as uow:
        uid = uow.session.get(Task, tid).uid
    assert "مریم" in _remote_object(connected, uid).data
    assert crm_cli("customers", "forget", str(customer), "--yes").exit_code == 0
    assert _sync(crm_cli)["to_calendar"]["removed"] == [tid]
    with pytest.raises(caldav.lib.error.NotFoundError):
        _remote_object(connected, uid)
    assert h.count(CalendarItem) == 0
