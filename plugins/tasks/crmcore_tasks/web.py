"""What tasks adds to ``crm web``: the dashboard widget of today's work, the salesperson's own
tasks (overdue, today, upcoming; complete one), a week and month calendar (Jalali on Persian pages)
where a task is dragged to another day (or moved with a small form without script), a task's page
with its recurrence and reminders to edit, and the same through ``/api/p/tasks/…``.

Every action calls the service functions ``crm tasks done/move/edit`` call, so the web refuses what
the CLI refuses, with the same message. Agents see and change their own tasks; users who may manage
tasks may open anyone's (``?user=``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crmcore.api import CRMError, Customer, Forbidden, Formatter, ui

from . import recurrence
from .display import task_to_dict
from .models import Task, TaskUser
from .reports import UNASSIGNED
from .values import KIND_LABELS_FA, local_midnight

SHOWN = 5
UPCOMING_DAYS = 7
WEEKDAYS_FA = ["شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه"]
WEEKDAYS_EN = ["Sat", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri"]
BYDAY_FA = {
    "SA": "شنبه",
    "SU": "یکشنبه",
    "MO": "دوشنبه",
    "TU": "سه‌شنبه",
    "WE": "چهارشنبه",
    "TH": "پنجشنبه",
    "FR": "جمعه",
}
FREQ_FA = {
    "DAILY": ("روزانه", "روز"),
    "WEEKLY": ("هفتگی", "هفته"),
    "MONTHLY": ("ماهانه", "ماه"),
    "YEARLY": ("سالانه", "سال"),
}
REPEATS = (
    ("", ui.Label("Does not repeat", "تکرار نمی‌شود")),
    ("daily", ui.Label("Daily", "روزانه")),
    ("weekly", ui.Label("Weekly", "هفتگی")),
    ("monthly", ui.Label("Monthly", "ماهانه")),
    ("yearly", ui.Label("Yearly", "سالانه")),
    ("custom", ui.Label("Custom rule", "قاعدهٔ دلخواه")),
)
STATES_FA = {"open": "باز", "done": "انجام شد", "cancelled": "لغو شد"}
PRIORITIES = (
    ("low", ui.Label("Low", "کم")),
    ("normal", ui.Label("Normal", "عادی")),
    ("high", ui.Label("High", "زیاد")),
    ("urgent", ui.Label("Urgent", "فوری")),
)


# --- the dashboard widget -------------------------------------------------------------------------
def dashboard_widgets(uow, user, dashboard) -> list[ui.Panel]:
    mine = {} if user.can("manage", "tasks") else {"user": user.username}
    today = dashboard.today
    due = dashboard.stat(
        ui.Label("Due today", "سررسید امروز"),
        "tasks.due",
        "totals.due",
        start=today,
        end=today,
        options=mine,
    )
    overdue = dashboard.stat(
        ui.Label("Overdue", "عقب‌افتاده"),
        "tasks.overdue",
        "totals.overdue",
        options=mine,
        tone="danger",
    )
    follow_ups = dashboard.stat(
        ui.Label("Overdue follow-ups", "پیگیری‌های عقب‌افتاده"),
        "tasks.overdue",
        "totals.overdue",
        options={**mine, "kind": "follow_up"},
        tone="warning",
    )
    result = dashboard.report("tasks.due", start=today, end=today, options=mine)
    columns = result["columns"]
    rows = [dict(zip(columns, row)) for row in result["rows"][:SHOWN]]
    nobody = ui.Label("Nobody", "بدون مسئول")
    ids = [r["task"] for r in rows]
    due_at = (
        dict(uow.session.execute(select(Task.id, Task.due_at).where(Task.id.in_(ids))).all())
        if ids
        else {}
    )
    table = ui.Table(
        columns=[
            ui.Column("due", ui.Label("Due", "سررسید"), "time"),
            ui.Column("title", ui.Label("Task", "کار"), "link"),
            ui.Column("assignee", ui.Label("Assignee", "مسئول"), "text"),
        ],
        rows=[
            {
                "due": due_at.get(r["task"]),
                "title": ui.Link(
                    f"{r['title']} · {r['customer_name']}", f"/customers/{r['customer']}"
                ),
                "assignee": r["assignee"] if r["assignee"] != UNASSIGNED else nobody,
            }
            for r in rows
        ],
        total=len(result["rows"]),
        empty=ui.Label("Nothing due today.", "امروز کاری سررسید نیست."),
        more_href=due.href,
    )
    return [
        ui.Panel(
            key="tasks",
            title=ui.Label("Today's tasks", "کارهای امروز"),
            order=5,
            items=[due, overdue, follow_ups, table],
        )
    ]


# --- reading --------------------------------------------------------------------------------------
def _tz(ctx) -> str:
    return ctx.uow.app.timezone


def own_username(uow, web_username: str) -> str | None:
    """The tasks user a web user is (tasks users keep their case; web usernames are lower case)."""
    return uow.session.scalar(
        select(TaskUser.username).where(func.lower(TaskUser.username) == web_username.lower())
    )


def whose(ctx) -> str | None:
    """Whose tasks the page shows: ``?user=`` for those who may manage tasks, else the user's
    own."""
    asked = (ctx.query.get("user") or "").strip()
    if asked and asked.lower() != ctx.user.username:
        if not ctx.user.can("manage", "tasks"):
            raise Forbidden("you may see only your own tasks", field="user")
        from .users import check_assignee

        return check_assignee(ctx.uow, asked, field="user")
    return own_username(ctx.uow, ctx.user.username)


def _open_tasks(
    uow, assignee: str | None, start: datetime | None, end: datetime | None
) -> list[Task]:
    if assignee is None:
        return []
    q = (
        select(Task)
        .options(selectinload(Task.reminders))
        .where(Task.state == "open", Task.assignee == assignee)
    )
    if start is not None:
        q = q.where(Task.due_at >= start)
    if end is not None:
        q = q.where(Task.due_at < end)
    return list(uow.session.scalars(q.order_by(Task.due_at, Task.id).limit(500)))


def _customers(uow, tasks) -> dict[int, str]:
    ids = {t.customer_id for t in tasks}
    if not ids:
        return {}
    return dict(
        uow.session.execute(
            select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
        ).all()
    )


def describe_rule(rule: str | None, fmt: Formatter, tz: str) -> str | None:
    """A recurrence as people say it: ``هر ۲ هفته، شنبه و دوشنبه، ۸ بار``."""
    if not rule:
        return None
    if not fmt.persian:
        return recurrence.describe(rule)
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    every, unit = FREQ_FA[parts["FREQ"]]
    interval = int(parts.get("INTERVAL", "1"))
    words = [every if interval == 1 else f"هر {interval} {unit}"]
    if "BYDAY" in parts:
        days = [BYDAY_FA.get(d[-2:], d) for d in parts["BYDAY"].split(",")]
        words.append(" و ".join(days))
    if "BYMONTHDAY" in parts:
        words.append(f"روز {parts['BYMONTHDAY']} ماه")
    if "COUNT" in parts:
        words.append(f"{parts['COUNT']} بار")
    if "UNTIL" in parts:
        until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
        words.append(f"تا {fmt.date(until)}")
    return fmt.digits("، ".join(words))


def describe_minutes(minutes: int, fmt: Formatter) -> str:
    units = ((10080, "w", "هفته"), (1440, "d", "روز"), (60, "h", "ساعت"), (1, "m", "دقیقه"))
    for size, en, fa in units:
        if minutes >= size and minutes % size == 0 or size == 1:
            n = minutes // size
            return fmt.digits(f"{n} {fa} قبل" if fmt.persian else f"{n}{en} before")
    return str(minutes)


def card(task: Task, names: dict[int, str], fmt: Formatter, now: datetime) -> dict[str, Any]:
    """What a task shows in a list or a calendar cell, formatted for the reader."""
    zone = ZoneInfo(task.timezone)
    return {
        "id": task.id,
        "title": task.title,
        "kind": task.kind,
        "kind_label": KIND_LABELS_FA.get(task.kind, task.kind)
        if fmt.persian
        else task.kind.replace("_", " "),
        "customer_id": task.customer_id,
        "customer": names.get(task.customer_id, ""),
        "all_day": task.all_day,
        "due_at": task.due_at,
        "time": None if task.all_day else fmt.time(task.due_at),
        "when": fmt.date(task.due_at) if task.all_day else fmt.moment(task.due_at),
        "day": task.due_at.astimezone(zone).date().isoformat(),
        "overdue": task.state == "open" and task.overdue_at <= now,
        "priority": task.priority,
        "recurrence": describe_rule(task.rrule, fmt, task.timezone),
        "reminders": [describe_minutes(r.minutes_before, fmt) for r in task.reminders],
        "notes": task.notes,
    }


def my_tasks(uow, assignee: str | None, fmt: Formatter, now: datetime, tz: str) -> dict[str, Any]:
    """Open tasks of ``assignee``: overdue, the rest of today, the next seven days."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    start, end = local_midnight(today, tz), local_midnight(today + timedelta(days=1), tz)
    horizon = local_midnight(today + timedelta(days=UPCOMING_DAYS + 1), tz)
    tasks = _open_tasks(uow, assignee, None, horizon)
    names = _customers(uow, tasks)
    groups: dict[str, list[dict[str, Any]]] = {"overdue": [], "today": [], "upcoming": []}
    for t in tasks:
        c = card(t, names, fmt, now)
        if c["overdue"]:
            groups["overdue"].append(c)
        elif start <= t.due_at < end or (t.due_at < start):
            groups["today"].append(c)
        else:
            groups["upcoming"].append(c)
    return groups


# --- the calendar ---------------------------------------------------------------------------------
def _week_start(day: date, fmt: Formatter) -> date:
    """Persian weeks start on Saturday, English ones on Monday."""
    first = 5 if fmt.persian else 0  # date.weekday(): Monday 0 … Saturday 5
    return day - timedelta(days=(day.weekday() - first) % 7)


def month_bounds(day: date, fmt: Formatter) -> tuple[date, date]:
    """First day of the month holding ``day`` and of the next one: Jalali on Persian pages."""
    if fmt.calendar == "jalali":
        import jdatetime

        from crmcore.api import jalali_month_bounds

        j = jdatetime.date.fromgregorian(date=day)
        return jalali_month_bounds(j.year, j.month)
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


def _day_number(day: date, fmt: Formatter) -> str:
    if fmt.calendar == "jalali":
        import jdatetime

        return fmt.digits(jdatetime.date.fromgregorian(date=day).day)
    return fmt.digits(day.day)


def calendar_view(
    uow, assignee: str | None, fmt: Formatter, now: datetime, tz: str, *, view: str, day: date
) -> dict[str, Any]:
    """The days of a week or a month with each day's tasks (and the coming occurrences of recurring
    ones, shown but not movable: only the current occurrence of a series is stored)."""
    if view == "month":
        first, after = month_bounds(day, fmt)
        grid_start = _week_start(first, fmt)
        grid_end = _week_start(after - timedelta(days=1), fmt) + timedelta(days=7)
        prev_day, next_day = first - timedelta(days=1), after
        title = fmt.date(first, long=True).split(" ", 1)[1]
    else:
        first = grid_start = _week_start(day, fmt)
        after = grid_end = first + timedelta(days=7)
        prev_day, next_day = first - timedelta(days=7), after
        last = after - timedelta(days=1)
        title = fmt.pick("{} – {}", "{} تا {}").format(
            fmt.date(first, long=True), fmt.date(last, long=True)
        )
    start, end = local_midnight(grid_start, tz), local_midnight(grid_end, tz)
    tasks = _open_tasks(uow, assignee, start, end)
    series = [t for t in _open_tasks(uow, assignee, None, end) if t.rrule]
    names = _customers(uow, tasks + series)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        c = card(t, names, fmt, now)
        by_day.setdefault(c["day"], []).append(c)
    zone = ZoneInfo(tz)
    for t in series:
        after_current = max(start, (t.occurrence_at or t.due_at) + timedelta(seconds=1))
        for moment in recurrence.occurrences_between(
            t.rrule, t.series_start, t.timezone, after_current, end, t.exdates
        )[:62]:
            c = card(t, names, fmt, now)
            c.update(
                ghost=True,
                day=moment.astimezone(zone).date().isoformat(),
                time=None if t.all_day else fmt.time(moment),
                overdue=False,
            )
            by_day.setdefault(c["day"], []).append(c)
    today = now.astimezone(zone).date()
    days = []
    d = grid_start
    while d < grid_end:
        items = sorted(by_day.get(d.isoformat(), []), key=lambda c: (c["time"] or "", c["id"]))
        names = WEEKDAYS_FA if fmt.persian else WEEKDAYS_EN
        days.append(
            {
                "iso": d.isoformat(),
                "number": _day_number(d, fmt),
                "label": fmt.date(d),
                "weekday": names[(d.weekday() + 2) % 7],
                "inside": first <= d < after,
                "today": d == today,
                "past": d < today,
                "tasks": items,
            }
        )
        d += timedelta(days=1)
    names_row = WEEKDAYS_FA if fmt.persian else WEEKDAYS_EN
    header = names_row if fmt.persian else names_row[2:] + names_row[:2]
    return {
        "view": view,
        "title": title,
        "days": days,
        "weekdays": header,
        "prev": prev_day.isoformat(),
        "next": next_day.isoformat(),
        "today": today.isoformat(),
    }


# --- endpoints ------------------------------------------------------------------------------------
def _fmt(ctx) -> Formatter:
    return Formatter.for_language(ctx.lang, tz=_tz(ctx))


def _task_for(ctx, access: str = "read") -> Task:
    """The task of the path, if the user may see (or change) it: their own, or anyone's with
    manage access to tasks."""
    from .service import get_task

    task = get_task(ctx.uow, ctx.path_params["task_id"])
    if not ctx.user.can("manage", "tasks"):
        mine = own_username(ctx.uow, ctx.user.username)
        if task.assignee is None or task.assignee != mine:
            raise Forbidden(
                f"task {task.id} is assigned to {task.assignee or 'nobody'}: you may "
                f"{access} only your own tasks",
                field="task",
            )
    return task


def _query_day(ctx) -> date:
    from crmcore.api import parse_date

    raw = (ctx.query.get("day") or "").strip()
    if not raw:
        return ctx.uow.now().astimezone(ZoneInfo(_tz(ctx))).date()
    return parse_date(raw, field="day")


def _user_query(ctx, assignee: str | None) -> str:
    return f"&user={assignee}" if assignee and (ctx.query.get("user") or "").strip() else ""


def page_mine(ctx):
    fmt = _fmt(ctx)
    assignee = whose(ctx)
    groups = my_tasks(ctx.uow, assignee, fmt, ctx.uow.now(), _tz(ctx))
    stats = [
        ui.Stat(
            ui.Label("Overdue", "عقب‌افتاده"),
            len(groups["overdue"]),
            kind="number",
            tone="danger" if groups["overdue"] else "neutral",
        ),
        ui.Stat(ui.Label("Today", "امروز"), len(groups["today"]), kind="number"),
        ui.Stat(ui.Label("Next 7 days", "۷ روز آینده"), len(groups["upcoming"]), kind="number"),
    ]
    return ctx.render(
        "crmcore_tasks:templates/mine.html",
        title=fmt.pick("My tasks", "کارهای من"),
        groups=groups,
        stats=stats,
        assignee=assignee,
        known=assignee is not None,
        plugin="tasks",
        may=lambda a: ctx.user.can(a, "tasks"),
        back=_back(ctx, "/p/tasks/mine"),
        user_query=_user_query(ctx, assignee),
        error=None,
        error_task=None,
    )


def _back(ctx, default: str) -> str:
    raw = ctx.request.url.path + (f"?{ctx.request.url.query}" if ctx.request.url.query else "")
    return raw if raw.startswith("/p/tasks/") else default


def page_calendar(ctx, *, error: str | None = None, error_task: int | None = None):
    fmt = _fmt(ctx)
    assignee = whose(ctx)
    view = "month" if ctx.query.get("view") == "month" else "week"
    data = calendar_view(
        ctx.uow, assignee, fmt, ctx.uow.now(), _tz(ctx), view=view, day=_query_day(ctx)
    )
    return ctx.render(
        "crmcore_tasks:templates/calendar.html",
        title=fmt.pick("Calendar", "تقویم"),
        cal=data,
        assignee=assignee,
        known=assignee is not None,
        plugin="tasks",
        may=lambda a: ctx.user.can(a, "tasks"),
        back=_back(ctx, "/p/tasks/calendar"),
        user_query=_user_query(ctx, assignee),
        error=error,
        error_task=error_task,
    )


def _form(ctx) -> dict[str, str]:
    return ctx.body if isinstance(ctx.body, dict) else {}


def _wants_json(ctx) -> bool:
    return "application/json" in (ctx.request.headers.get("accept") or "")


def _redirect_back(ctx, default: str):
    from fastapi.responses import RedirectResponse

    target = _form(ctx).get("next") or default
    if not target.startswith("/p/tasks/") and not target.startswith("/customers/"):
        target = default
    return RedirectResponse(target, status_code=303)


def post_done(ctx):
    from .service import complete_task

    task = _task_for(ctx, "complete")
    complete_task(ctx.uow, task.id, note=_form(ctx).get("note"))
    return _redirect_back(ctx, "/p/tasks/mine")


def post_move(ctx):
    """Drag and drop (JSON answer) or the no-script form (back to the calendar, or the calendar
    again with the refusal beside the task's form, status 422)."""
    from fastapi.responses import JSONResponse

    from .service import reschedule_task

    task = _task_for(ctx, "move")
    day = (_form(ctx).get("day") or "").strip()
    try:
        with ctx.uow.session.begin_nested():
            moved = reschedule_task(ctx.uow, task.id, day=day)
    except CRMError as exc:
        if _wants_json(ctx):
            return JSONResponse({"error": exc.message, "field": exc.field}, status_code=422)
        # the calendar again, at the task's own day: its form shows the refusal beside it
        local_day = task.due_at.astimezone(ZoneInfo(task.timezone)).date().isoformat()
        ctx.query = {**_next_query(_form(ctx).get("next")), "day": local_day}
        response = page_calendar(ctx, error=exc.message, error_task=task.id)
        response.status_code = 422
        return response
    if _wants_json(ctx):
        return JSONResponse({"ok": True, "task": moved.id, "due_at": moved.due_at.isoformat()})
    return _redirect_back(ctx, "/p/tasks/calendar")


def _next_query(target: str | None) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    if not target or not target.startswith("/p/tasks/"):
        return {}
    return dict(parse_qsl(urlsplit(target).query))


def page_task(ctx, *, error: str | None = None, field: str | None = None, form: dict | None = None):
    from .display import format_due

    fmt = _fmt(ctx)
    task = _task_for(ctx)
    names = _customers(ctx.uow, [task])
    c = card(task, names, fmt, ctx.uow.now())
    zone = ZoneInfo(task.timezone)
    local = task.due_at.astimezone(zone)
    rule = task.rrule or ""
    preset = next((k for k, v in recurrence.SHORTCUTS.items() if v == rule and k.isascii()), None)
    values = form or {
        "title": task.title,
        "notes": task.notes or "",
        "priority": task.priority,
        "day": fmt.date(task.due_at) if fmt.persian else local.date().isoformat(),
        "time": "" if task.all_day else f"{local:%H:%M}",
        "repeat": preset if preset is not None else ("custom" if rule else ""),
        "rrule": rule if preset is None else "",
        "reminders": ", ".join(_short_minutes(r.minutes_before) for r in task.reminders),
    }
    facts = ui.FieldList(
        [
            ui.Field(
                ui.Label("Customer", "مشتری"),
                ui.Link(c["customer"], f"/customers/{task.customer_id}"),
            ),
            ui.Field(ui.Label("Kind", "نوع"), c["kind_label"]),
            ui.Field(
                ui.Label("Due", "سررسید"),
                c["when"] if fmt.persian else format_due(task, fmt.calendar, task.timezone),
            ),
            ui.Field(ui.Label("Assignee", "مسئول"), task.assignee or "—"),
            ui.Field(
                ui.Label("State", "وضعیت"),
                ui.Badge(
                    ui.Label(task.state, STATES_FA[task.state]),
                    "danger" if c["overdue"] else ("ok" if task.state == "done" else "neutral"),
                ),
            ),
            ui.Field(ui.Label("Repeats", "تکرار"), c["recurrence"] or ui.Label("No", "ندارد")),
            ui.Field(
                ui.Label("Reminders", "یادآوری‌ها"),
                fmt.join(c["reminders"]) if c["reminders"] else ui.Label("None", "ندارد"),
            ),
        ]
    )
    return ctx.render(
        "crmcore_tasks:templates/task.html",
        title=task.title,
        task=task,
        c=c,
        facts=[facts],
        form=values,
        error=error,
        field=field,
        repeats=REPEATS,
        priorities=PRIORITIES,
        plugin="tasks",
        may=lambda a: ctx.user.can(a, "tasks"),
    )


def _short_minutes(minutes: int) -> str:
    for size, unit in ((1440, "d"), (60, "h")):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def edit_values(form: dict[str, str]) -> dict[str, Any]:
    """The edit form's fields as :func:`crmcore_tasks.service.update_task` takes them."""
    from crmcore.api import to_ascii_digits

    day = to_ascii_digits(form.get("day") or "").strip().replace("/", "-")
    clock = to_ascii_digits(form.get("time") or "").strip()
    repeat = (form.get("repeat") or "").strip()
    rule = (form.get("rrule") or "").strip() if repeat == "custom" else repeat
    typed = to_ascii_digits(form.get("reminders") or "").replace("،", ",")
    reminders = [r for r in typed.split(",") if r.strip()]
    return {
        "title": form.get("title"),
        "notes": form.get("notes"),
        "priority": form.get("priority"),
        "due": f"{day} {clock}" if day and clock else (day or None),
        "rrule": rule,
        "reminders": [r.strip() for r in reminders],
    }


def post_task(ctx):
    from .service import update_task

    task = _task_for(ctx, "change")
    form = _form(ctx)
    try:
        with ctx.uow.session.begin_nested():
            update_task(ctx.uow, task.id, **edit_values(form))
    except CRMError as exc:
        ctx.uow.session.expire_all()
        names = {"due": "day", "remind": "reminders", "until": "day"}
        field = names.get(exc.field or "", exc.field)
        response = page_task(ctx, error=exc.message, field=field, form=dict(form))
        response.status_code = 422
        return response
    from fastapi.responses import RedirectResponse

    return RedirectResponse(f"/p/tasks/tasks/{task.id}?ok=saved", status_code=303)


# --- a new task from the customer's 360° page -----------------------------------------------------
KIND_EN = {
    "call_back": "Call back",
    "meeting": "Meeting",
    "follow_up": "Follow-up",
    "visit": "Visit",
    "email": "Email",
    "task": "Task",
}


def new_task_fields(values: dict[str, str] | None = None) -> list[ui.ActionField]:
    v = values or {}
    kinds = [(k, ui.Label(en, KIND_LABELS_FA[k])) for k, en in KIND_EN.items()]
    return [
        ui.ActionField("title", ui.Label("Title", "عنوان"), value=v.get("title"), required=True),
        ui.ActionField(
            "kind",
            ui.Label("Kind", "نوع"),
            "select",
            value=v.get("kind") or "follow_up",
            options=kinds,
        ),
        ui.ActionField("day", ui.Label("Day", "روز"), "date", value=v.get("day"), required=True),
        ui.ActionField("time", ui.Label("Time (optional)", "ساعت (اختیاری)"), value=v.get("time")),
    ]


def customer_actions(uow, customer) -> list[ui.Action]:
    """The 360° page's "new task" (``crm_customer_actions``), assigned to whoever adds it."""
    return [
        ui.Action(
            ui.Label("New task", "کار جدید"),
            f"/customers/{customer.id}/tasks",
            fields=new_task_fields(),
            access="write",
        )
    ]


def post_new_task(ctx):
    """Add a task for the customer of the path (:func:`.service.add_task`, as ``crm tasks
    add``), assigned to the user adding it when they are a tasks user; a refusal shows the form
    again with the reason beside its field."""
    from fastapi.responses import RedirectResponse

    from crmcore.api import check_customer, get_customer

    from .service import add_task

    form = _form(ctx)
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    check_customer(ctx.uow, customer, "write")
    due = edit_values(form)["due"]
    try:
        with ctx.uow.session.begin_nested():
            add_task(
                ctx.uow,
                customer=customer,
                kind=form.get("kind") or "follow_up",
                title=form.get("title") or "",
                due=due,
                assignee=own_username(ctx.uow, ctx.user.username),
                source="web",
            )
    except CRMError as exc:
        names = {"due": "day", "assignee": "title"}
        fmt = _fmt(ctx)
        response = ctx.render(
            "crmcore_tasks:templates/new.html",
            title=fmt.pick("New task", "کار جدید"),
            heading=ui.Label("New task", "کار جدید"),
            customer=customer,
            fields=new_task_fields(form),
            error=exc.message,
            button=ui.Label("Add the task", "ثبت کار"),
            field=names.get(exc.field or "", exc.field),
            plugin="tasks",
        )
        response.status_code = 422
        return response
    return RedirectResponse(f"/customers/{customer.id}?ok=saved#timeline", status_code=303)


# --- the API --------------------------------------------------------------------------------------
def _dicts(ctx, tasks) -> list[dict[str, Any]]:
    names = _customers(ctx.uow, tasks)
    cal = "jalali" if ctx.lang == "fa" else "gregorian"
    return [
        task_to_dict(
            t, calendar=cal, tz=_tz(ctx), now=ctx.uow.now(), customer_name=names.get(t.customer_id)
        )
        for t in tasks
    ]


def api_list(ctx):
    from crmcore.api import parse_datetime

    assignee = whose(ctx)

    def moment(name: str):
        raw = ctx.query.get(name)
        return parse_datetime(raw, tz=_tz(ctx), field=name) if raw else None

    start, end = moment("from"), moment("to")
    return _dicts(ctx, _open_tasks(ctx.uow, assignee, start, end))


def api_mine(ctx):
    groups = my_tasks(ctx.uow, whose(ctx), _fmt(ctx), ctx.uow.now(), _tz(ctx))
    return {
        k: [
            {
                "id": c["id"],
                "title": c["title"],
                "due_at": c["due_at"].isoformat(),
                "customer_id": c["customer_id"],
                "overdue": c["overdue"],
            }
            for c in v
        ]
        for k, v in groups.items()
    }


def api_show(ctx):
    return _dicts(ctx, [_task_for(ctx)])[0]


def _json(ctx) -> dict[str, Any]:
    from crmcore.api import ValidationError

    body = ctx.body if ctx.body is not None else {}
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", field="body")
    return body


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    from crmcore.api import ValidationError

    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r} (known: {', '.join(allowed)})", field=unknown[0]
        )
    return body


def api_done(ctx):
    from .service import complete_task

    task = _task_for(ctx, "complete")
    return complete_task(ctx.uow, task.id, note=_only(_json(ctx), ("note",)).get("note"))


def api_move(ctx):
    from .service import reschedule_task

    task = _task_for(ctx, "move")
    body = _only(_json(ctx), ("day",))
    return _dicts(ctx, [reschedule_task(ctx.uow, task.id, day=body.get("day"))])[0]


def api_update(ctx):
    from .service import update_task

    task = _task_for(ctx, "change")
    body = _only(_json(ctx), ("title", "notes", "priority", "due", "rrule", "reminders"))
    if "reminders" in body and not isinstance(body["reminders"], list):
        from crmcore.api import ValidationError

        raise ValidationError('reminders is a list such as ["15m", "1d"]', field="reminders")
    return _dicts(ctx, [update_task(ctx.uow, task.id, **body)])[0]


def routes():
    from crmcore.api import WebRoute

    task = "/tasks/{task_id:int}"
    return [
        WebRoute("/mine", page_mine, kind="page"),
        WebRoute("/calendar", page_calendar, kind="page"),
        WebRoute(task, page_task, kind="page"),
        WebRoute(task, post_task, kind="page", methods=("POST",), access="write"),
        WebRoute(task + "/done", post_done, kind="page", methods=("POST",), access="write"),
        WebRoute(
            "/customers/{customer_id:int}/tasks",
            post_new_task,
            kind="page",
            methods=("POST",),
            access="write",
        ),
        WebRoute(task + "/move", post_move, kind="page", methods=("POST",), access="write"),
        WebRoute(
            "/tasks", api_list, summary="Open tasks (mine, or ?user= for managers); ?from=&to="
        ),
        WebRoute("/mine", api_mine, summary="My open tasks: overdue, today, the next 7 days"),
        WebRoute(task, api_show, summary="One task"),
        WebRoute(
            task,
            api_update,
            methods=("PATCH",),
            access="write",
            summary="Change a task: title, notes, priority, due, rrule ('' ends it), reminders",
        ),
        WebRoute(
            task + "/done",
            api_done,
            methods=("POST",),
            access="write",
            summary="Complete a task (a recurring one moves to its next occurrence)",
        ),
        WebRoute(
            task + "/move",
            api_move,
            methods=("POST",),
            access="write",
            summary='Move a task\'s current occurrence to another day {"day": "1403-07-16"}',
        ),
    ]


def menu():
    from crmcore.api import MenuItem

    return [MenuItem(label="My tasks", label_fa="کارهای من", href="/p/tasks/mine")]
