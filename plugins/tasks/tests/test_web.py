"""Tasks on ``crm web``: my tasks (overdue, today, upcoming), the Jalali calendar with moves
(JSON for drag and drop, a form without script), a task's recurrence and reminders edited,
completing, the API routes; the same refusals as the CLI, beside the field, with nothing stored; no
menu and 403 without access. Through the in-process web client logged in as real users."""

import html
import re
import warnings
from datetime import datetime, timedelta

import pytest

from crmcore.testing.web import login as shared_login
from crmcore.testing.web import web_client

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

PASSWORD = "a long enough password"
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def people(crm_app, users):
    from crmcore.testing import add_user, set_permission

    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "sara", PASSWORD, "agent")
        add_user(uow, "reza", PASSWORD, "agent")
        add_user(uow, "mina", PASSWORD, "manager")
        add_user(uow, "neda", PASSWORD, "agent")
        set_permission(uow, "neda", "tasks", "none")


@pytest.fixture
def client(crm_app):
    with web_client(crm_app) as c:
        yield c


def login(client, username):
    return shared_login(client, username, PASSWORD)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def day(crm_app, h, customer, people):
    """Sara's tasks around the frozen day (1404-01-01 12:30 Tehran): one overdue, one later today,
    one in three days, and Reza's one."""
    now = crm_app.clock()
    return {
        "late": h.add(
            customer, title="پیگیری چک برگشتی", due=now - timedelta(hours=2), assignee="sara"
        ),
        "today": h.add(
            customer,
            title="تماس برای پیش‌فاکتور",
            kind="call_back",
            due=now + timedelta(hours=3),
            assignee="sara",
            reminders=["15m"],
        ),
        "soon": h.add(
            customer,
            title="جلسه معرفی محصول",
            kind="meeting",
            due=now + timedelta(days=3),
            assignee="sara",
        ),
        "reza": h.add(customer, title="کار رضا", due=now + timedelta(hours=1), assignee="reza"),
    }


def test_my_tasks_shows_overdue_today_and_upcoming_of_the_user_only(client, day):
    login(client, "sara")
    page = client.get("/p/tasks/mine")
    assert page.status_code == 200
    body = text_of(page.text)
    assert "کارهای من" in body and "کار رضا" not in body
    sections = {
        k: text_of(s)
        for k, s in re.findall(
            r'<section class="task-group group-(\w+)"[^>]*>(.*?)</section>', page.text, re.S
        )
    }
    assert "پیگیری چک برگشتی" in sections["overdue"]
    assert "تماس برای پیش‌فاکتور" in sections["today"] and "۱۵ دقیقه قبل" in sections["today"]
    assert "جلسه معرفی محصول" in sections["upcoming"]
    assert 'href="/p/tasks/mine"' in client.get("/").text  # the menu entry


def test_without_access_no_menu_entry_and_403(client, day):
    login(client, "neda")
    assert "/p/tasks/mine" not in client.get("/").text
    assert client.get("/p/tasks/mine").status_code == 403
    assert client.get("/api/p/tasks/mine").status_code == 403


def test_an_agent_cannot_open_or_change_someone_elses_task(client, day, h):
    csrf = login(client, "sara")
    assert client.get(f"/p/tasks/tasks/{day['reza']}").status_code == 403
    r = client.post(f"/p/tasks/tasks/{day['reza']}/done", data={"csrf_token": csrf})
    assert r.status_code == 403
    assert h.get(day["reza"])["state"] == "open"
    assert client.get("/p/tasks/mine?user=reza").status_code == 403


def test_a_manager_sees_anyones_tasks(client, day):
    login(client, "mina")
    assert "کار رضا" in text_of(client.get("/p/tasks/mine?user=reza").text)


def test_the_week_calendar_is_jalali_and_starts_on_saturday(client, day):
    login(client, "sara")
    page = client.get("/p/tasks/calendar?view=week&day=1404-01-01")
    assert page.status_code == 200
    days = re.findall(r'data-day="([\d-]+)"', page.text)
    assert days[0] == "2025-03-15" and len(days) == 7  # Saturday 24 Esfand 1403
    assert "شنبه" in page.text and "فروردین" in page.text
    assert f'data-drag-action="/p/tasks/tasks/{day["today"]}/move"' in page.text
    month = client.get("/p/tasks/calendar?view=month&day=1404-01-10")
    month_days = re.findall(
        r'<section class="cal-day(?! outside)[^"]*"[^>]*data-day="([\d-]+)"', month.text
    )
    assert month_days[0] == "2025-03-21" and len(month_days) == 31  # Farvardin has 31 days


def test_moving_by_drag_and_by_the_form_keeps_the_time(client, day, h, crm_app):
    csrf = login(client, "sara")
    before = datetime.fromisoformat(h.get(day["today"])["due_at"])
    move = f"/p/tasks/tasks/{day['today']}/move"
    r = client.post(move, data={"csrf_token": csrf, "day": "2025-03-24"}, headers=JSON)
    assert r.status_code == 200 and r.json()["ok"] is True
    after = datetime.fromisoformat(h.get(day["today"])["due_at"])
    assert after - before == timedelta(days=3)
    # without script: the form with a Jalali date in Persian digits, back to the calendar
    r = client.post(
        f"/p/tasks/tasks/{day['soon']}/move",
        data={"csrf_token": csrf, "day": "۱۴۰۴/۰۱/۰۵", "next": "/p/tasks/calendar?view=week"},
    )
    assert r.status_code == 200 and str(r.url).endswith("/p/tasks/calendar?view=week")
    assert h.get(day["soon"], calendar="jalali")["due"].startswith("1404-01-05")


def test_moving_into_the_past_is_refused_beside_the_task_and_nothing_changes(client, day, h):
    csrf = login(client, "sara")
    before = h.get(day["today"])["due_at"]
    move = f"/p/tasks/tasks/{day['today']}/move"
    r = client.post(
        move,
        data={"csrf_token": csrf, "day": "1403-12-20", "next": "/p/tasks/calendar?day=1403-12-20"},
    )
    assert r.status_code == 422
    assert f'id="move-error-{day["today"]}"' in r.text
    assert "not into the past" in r.text
    r = client.post(move, data={"csrf_token": csrf, "day": "1404-13-01"}, headers=JSON)
    assert r.status_code == 422 and r.json()["field"] == "day"
    assert h.get(day["today"])["due_at"] == before


def test_editing_recurrence_and_reminders(client, day, h):
    csrf = login(client, "sara")
    url = f"/p/tasks/tasks/{day['soon']}"
    page = client.get(url)
    assert page.status_code == 200 and "تکرار نمی‌شود" in page.text
    form = {
        "csrf_token": csrf,
        "title": "جلسه معرفی محصول",
        "day": "1404-01-04",
        "time": "12:30",
        "repeat": "custom",
        "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        "reminders": "1h, ۱d",
        "priority": "high",
        "notes": "داخلی: مشتری بدحساب است",
    }
    r = client.post(url, data=form)
    assert r.status_code == 200
    task = h.get(day["soon"])
    assert "BYDAY=MO" in task["rrule"] and "COUNT=4" in task["rrule"]
    assert task["reminders_minutes_before"] == [1440, 60] and task["priority"] == "high"
    body = text_of(r.text)
    assert "هفتگی، دوشنبه، ۴ بار" in body and "۱ روز قبل" in body
    # a rule whose first occurrence is not the due moment: refused beside the rule, nothing stored
    bad = {**form, "rrule": "FREQ=WEEKLY;BYDAY=TU", "title": "عنوان تازه"}
    r = client.post(url, data=bad)
    assert r.status_code == 422 and 'id="err-rrule"' in r.text and "not an occurrence" in r.text
    assert h.get(day["soon"])["title"] == "جلسه معرفی محصول"
    r = client.post(url, data={**form, "reminders": "soon"})
    assert r.status_code == 422 and 'id="err-reminders"' in r.text
    # ending the recurrence
    r = client.post(url, data={**form, "repeat": "", "rrule": ""})
    assert r.status_code == 200 and h.get(day["soon"])["rrule"] is None


def test_completing_from_the_list(client, day, h):
    csrf = login(client, "sara")
    r = client.post(
        f"/p/tasks/tasks/{day['today']}/done", data={"csrf_token": csrf, "next": "/p/tasks/mine"}
    )
    assert r.status_code == 200 and str(r.url).endswith("/p/tasks/mine")
    assert h.get(day["today"])["state"] == "done"
    assert "تماس برای پیش‌فاکتور" not in text_of(r.text)


def test_the_api_routes(client, day, h, users, crm_app):
    from crmcore.testing import create_token

    with crm_app.unit_of_work(actor="setup") as uow:
        token = create_token(uow, "sara", "tests", level="write")[1]
    auth = {"Authorization": f"Bearer {token}"}
    mine = client.get("/api/p/tasks/mine", headers=auth).json()
    assert [t["id"] for t in mine["overdue"]] == [day["late"]]
    r = client.patch(
        f"/api/p/tasks/tasks/{day['today']}",
        headers=auth,
        json={"rrule": "daily", "reminders": ["30m"]},
    )
    assert r.status_code == 200 and r.json()["rrule"] == "FREQ=DAILY"
    assert r.json()["reminders_minutes_before"] == [30]
    r = client.patch(f"/api/p/tasks/tasks/{day['today']}", headers=auth, json={"colour": "red"})
    assert r.status_code == 422 and r.json()["field"] == "colour"
    r = client.post(
        f"/api/p/tasks/tasks/{day['late']}/move", headers=auth, json={"day": "1404-01-02"}
    )
    assert r.status_code == 200 and r.json()["due"].startswith("1404-01-02")
    r = client.post(f"/api/p/tasks/tasks/{day['late']}/done", headers=auth, json={})
    assert r.status_code == 200 and r.json()["state"] == "done"
    r = client.post(f"/api/p/tasks/tasks/{day['reza']}/done", headers=auth, json={})
    assert r.status_code == 403
    paths = client.get("/api/openapi.json", headers=auth).json()["paths"]
    assert {
        "/api/p/tasks/mine",
        "/api/p/tasks/tasks/{task_id}",
        "/api/p/tasks/tasks/{task_id}/move",
        "/api/p/tasks/tasks/{task_id}/done",
    } <= set(paths)


def test_the_cli_moves_and_edits_with_the_same_rules(crm_cli, day, h):
    result = crm_cli("tasks", "move", str(day["today"]), "--to", "1403-12-01")
    assert result.exit_code == 1 and "not into the past" in result.stderr
    result = crm_cli("tasks", "edit", str(day["today"]), "--repeat", "weekly", "--json")
    assert result.exit_code == 0, result
    assert h.get(day["today"])["rrule"] == "FREQ=WEEKLY"


def test_english_pages_are_gregorian_and_start_the_week_on_monday(client, day):
    login(client, "sara")
    page = client.get("/lang/en?next=/p/tasks/calendar?view=week%26day=2025-03-21")
    assert page.status_code == 200 and 'lang="en"' in page.text
    days = re.findall(r'data-day="([\d-]+)"', page.text)
    assert days[0] == "2025-03-17"  # Monday
    assert "March 2025" in text_of(page.text) and "فروردین" not in page.text
    mine = client.get("/p/tasks/mine")
    assert "My tasks" in mine.text and "15m before" in text_of(mine.text)
    task = client.get(f"/p/tasks/tasks/{day['soon']}")
    assert task.status_code == 200 and 'value="2025-03-24"' in task.text


def test_a_new_task_from_the_customer_page_and_on_its_timeline(crm_app, client, day, customer):
    """The 360° page's quick action adds a task through the CLI's ``add_task`` (assigned to the
    user adding it); a refusal is shown beside its field and stores nothing; the task shows on
    the timeline when added and again when done; without access to tasks no form and 403."""
    from crmcore_tasks.models import Task
    from sqlalchemy import func, select

    def count():
        with crm_app.unit_of_work(readonly=True) as uow:
            return uow.session.scalar(select(func.count()).select_from(Task))

    csrf = login(client, "sara")
    url = f"/p/tasks/customers/{customer}/tasks"
    page = client.get(f"/customers/{customer}").text
    assert f'action="{url}"' in page and "کار جدید" in page
    before = count()
    refused = client.post(
        url,
        data={
            "csrf_token": csrf,
            "title": "ارسال کاتالوگ",
            "kind": "follow_up",
            "day": "۱۴۰۴/۱۳/۴۰",
        },
    )
    assert refused.status_code == 422 and 'data-field="day"' in refused.text
    assert "ارسال کاتالوگ" in refused.text and count() == before
    ok = client.post(
        url,
        data={
            "csrf_token": csrf,
            "title": "ارسال کاتالوگ",
            "kind": "follow_up",
            "day": "۱۴۰۴/۰۱/۰۵",
            "time": "۱۰:۳۰",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/customers/{customer}")
    assert count() == before + 1
    with crm_app.unit_of_work(readonly=True) as uow:
        task = uow.session.scalars(select(Task).where(Task.title == "ارسال کاتالوگ")).one()
        assert task.assignee == "sara" and task.kind == "follow_up"
        task_id = task.id
    timeline = text_of(client.get(f"/customers/{customer}?only=tasks").text)
    assert "ارسال کاتالوگ" in timeline and "پیگیری ثبت شد" in timeline
    client.post(
        f"/p/tasks/tasks/{task_id}/done",
        data={"csrf_token": csrf, "next": f"/customers/{customer}"},
    )
    assert "انجام شد" in text_of(client.get(f"/customers/{customer}?only=tasks").text)
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "neda")
    assert url not in client.get(f"/customers/{customer}").text
    assert client.post(url, data={"csrf_token": csrf, "title": "x"}).status_code == 403
