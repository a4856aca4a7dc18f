"""``crm tasks …``: add, list, show, done, snooze, cancel, agenda, ical export, ics import, users, and
CalDAV calendar sync."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app


class _DryRun(Exception):
    """Raised inside a unit of work to roll it back after a dry run."""


def _calendar(app) -> str:
    from crmcore.api import CLIState

    from .display import display_calendar

    state = click.get_current_context().find_object(CLIState)
    return display_calendar(app, explicit=state.calendar if state else None)


def _dicts(uow, app, tasks) -> list[dict]:
    from crmcore.api import Customer

    from .display import task_to_dict

    names = {}
    ids = {t.customer_id for t in tasks}
    if ids:
        from sqlalchemy import select

        names = dict(
            uow.session.execute(
                select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
            ).all()
        )
    cal = _calendar(app)
    return [
        task_to_dict(
            t, calendar=cal, tz=app.timezone, now=uow.now(), customer_name=names.get(t.customer_id)
        )
        for t in tasks
    ]


@click.group()
def tasks():
    """Follow-ups, appointments, reminders and calendar feeds (iCalendar)."""


@tasks.command("add")
@click.argument("customer")
@click.option("--title", required=True, help="What to do (Persian or English).")
@click.option(
    "--kind",
    default="follow_up",
    show_default=True,
    help="call_back, meeting, follow_up, visit, email or task.",
)
@click.option(
    "--due",
    required=True,
    help="1403-07-15 14:30 (Jalali), 2024-10-06T14:30, a date alone for all day, tomorrow, +2h.",
)
@click.option(
    "--duration", help="For appointments: 30m, 1h30m (meetings and visits default to 1h)."
)
@click.option(
    "--user", "--assignee", "assignee", help="The user responsible (see crm tasks users list)."
)
@click.option(
    "--priority", default="normal", show_default=True, help="low, normal, high or urgent."
)
@click.option("--notes")
@click.option("--location")
@click.option(
    "--repeat",
    "rrule",
    help="iCalendar RRULE (FREQ=WEEKLY;BYDAY=SA,MO;COUNT=8) or daily/weekly/monthly.",
)
@click.option(
    "--remind",
    "reminders",
    multiple=True,
    help="Remind this long before due: 15m, 1h, 1d (repeatable).",
)
@click.option("--ref", "reference", help="The record it is about: TYPE:ID (deal:17, ticket:42).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored task instead of its id.")
def add(
    customer,
    title,
    kind,
    due,
    duration,
    assignee,
    priority,
    notes,
    location,
    rrule,
    reminders,
    reference,
    as_json,
):
    """Add a task or appointment for CUSTOMER (id, external id, phone or email); prints the new id."""
    from .service import add_task

    app = get_app()
    with app.unit_of_work() as uow:
        task = add_task(
            uow,
            customer=customer,
            kind=kind,
            title=title,
            due=due,
            duration=duration,
            assignee=assignee,
            priority=priority,
            notes=notes,
            location=location,
            rrule=rrule,
            reminders=reminders,
            reference=reference,
            source="cli",
        )
        data = _dicts(uow, app, [task])[0]
    if as_json:
        echo_json(data)
    else:
        click.echo(data["id"])


@tasks.command("list")
@click.option("--user", "assignee", help="Only this user's tasks.")
@click.option("--customer", help="Only this customer's tasks.")
@click.option(
    "--state",
    type=click.Choice(["open", "done", "cancelled", "all"]),
    default="open",
    show_default=True,
)
@click.option("--overdue", is_flag=True, help="Only open tasks past due.")
@click.option("--ref", help="Only tasks about this record (TYPE:ID).")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(assignee, customer, state, overdue, ref, limit, as_json):
    """List tasks, soonest due first."""
    from .service import list_tasks

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        items = _dicts(
            uow,
            app,
            list_tasks(
                uow,
                assignee=assignee,
                customer=customer,
                state=state,
                overdue=overdue,
                ref=ref,
                limit=limit,
            ),
        )
    if as_json:
        echo_json(items)
        return
    _table(items, title=None)


@tasks.command("show")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True)
def show(task_id, as_json):
    """Show one task."""
    from .service import get_task

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        data = _dicts(uow, app, [get_task(uow, task_id)])[0]
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        if value not in (None, [], ""):
            click.echo(f"{key}: {value}")


@tasks.command("done")
@click.argument("task_id")
@click.option("--note", help="What was done.")
@click.option("--json", "as_json", is_flag=True)
def done(task_id, note, as_json):
    """Mark a task done (a recurring task moves on to its next occurrence)."""
    from .service import complete_task

    app = get_app()
    with app.unit_of_work() as uow:
        result = complete_task(uow, task_id, note=note)
    if as_json:
        echo_json(result)
    elif result["next_due_at"]:
        click.echo(f"task {result['task_id']} done; next occurrence {result['next_due_at']}")
    else:
        click.echo(f"task {result['task_id']} done")


@tasks.command("snooze")
@click.argument("task_id")
@click.option("--by", help="Postpone by: 30m, 2h, 1d.")
@click.option("--until", help="Postpone until: 1403-07-16 10:00, 2024-10-07T10:00, tomorrow.")
@click.option("--json", "as_json", is_flag=True)
def snooze(task_id, by, until, as_json):
    """Postpone a task; its reminders are announced again for the new moment."""
    from .service import snooze_task

    app = get_app()
    with app.unit_of_work() as uow:
        data = _dicts(uow, app, [snooze_task(uow, task_id, by=by, until=until)])[0]
    if as_json:
        echo_json(data)
    else:
        click.echo(f"task {data['id']} now due {data['due']}")


@tasks.command("move")
@click.argument("task_id")
@click.option(
    "--to",
    "day",
    required=True,
    help="The new day: 1403-07-16 (Jalali) or 2024-10-07; the time stays.",
)
@click.option("--json", "as_json", is_flag=True)
def move(task_id, day, as_json):
    """Move a task's current occurrence to another day (as dragging it in the web calendar
    does)."""
    from .service import reschedule_task

    app = get_app()
    with app.unit_of_work() as uow:
        data = _dicts(uow, app, [reschedule_task(uow, task_id, day=day)])[0]
    if as_json:
        echo_json(data)
    else:
        click.echo(f"task {data['id']} now due {data['due']}")


@tasks.command("edit")
@click.argument("task_id")
@click.option("--title")
@click.option("--notes", help="Internal notes ('' clears them).")
@click.option("--priority", help="low, normal, high or urgent.")
@click.option("--due", help="A new due moment: 1403-07-15 14:30, 2024-10-06T14:30, a date.")
@click.option(
    "--repeat", "rrule", help="A new RRULE or daily/weekly/monthly/yearly; '' ends the recurrence."
)
@click.option(
    "--remind", "reminders", multiple=True, help="Replace the reminders: 15m, 1h, 1d (repeatable)."
)
@click.option("--no-reminders", is_flag=True, help="Remove every reminder.")
@click.option("--json", "as_json", is_flag=True)
def edit(task_id, title, notes, priority, due, rrule, reminders, no_reminders, as_json):
    """Change an open task: title, notes, priority, due moment, recurrence, reminders."""
    from crmcore.api import ValidationError

    from .service import update_task

    if reminders and no_reminders:
        raise ValidationError("give --remind or --no-reminders, not both", field="remind")
    app = get_app()
    with app.unit_of_work() as uow:
        task = update_task(
            uow,
            task_id,
            title=title,
            notes=notes,
            priority=priority,
            due=due,
            rrule=rrule,
            reminders=[] if no_reminders else (list(reminders) or None),
        )
        data = _dicts(uow, app, [task])[0]
    if as_json:
        echo_json(data)
    else:
        click.echo(
            f"task {data['id']} changed; due {data['due']}"
            + (f", repeats {data['recurrence']}" if data["recurrence"] else "")
        )


@tasks.command("cancel")
@click.argument("task_id")
@click.option("--reason")
def cancel(task_id, reason):
    """Cancel an open task."""
    from .service import cancel_task

    with get_app().unit_of_work() as uow:
        task = cancel_task(uow, task_id, reason=reason)
        click.echo(f"task {task.id} cancelled")


@tasks.command("agenda")
@click.option("--user", "assignee", required=True, help="Whose agenda.")
@click.option("--date", "day", help="Another day than today (Jalali or Gregorian).")
@click.option("--json", "as_json", is_flag=True)
def agenda_cmd(assignee, day, as_json):
    """Today's tasks of a user and the overdue ones (Jalali dates when the locale is Persian)."""
    from .display import persian_locale
    from .service import agenda

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        found = agenda(uow, assignee=assignee, day=day)
        data = {
            "user": assignee,
            "overdue": _dicts(uow, app, found["overdue"]),
            "today": _dicts(uow, app, found["today"]),
        }
    if as_json:
        echo_json(data)
        return
    fa = persian_locale()
    if not data["overdue"] and not data["today"]:
        click.echo("کاری برای امروز نیست." if fa else f"Nothing due today for {assignee}.")
        return
    if data["overdue"]:
        _table(data["overdue"], title="عقب‌افتاده" if fa else "Overdue", style="red")
    if data["today"]:
        _table(data["today"], title="امروز" if fa else "Today")


def _table(items, *, title, style=None) -> None:
    from rich.console import Console
    from rich.table import Table

    from .display import kind_label, persian_locale

    fa = persian_locale()
    heads = (
        ["#", "موعد", "نوع", "عنوان", "مشتری", "مسئول", "اولویت"]
        if fa
        else ["#", "Due", "Kind", "Title", "Customer", "Assignee", "Priority"]
    )
    table = Table(title=title, title_style=style, show_lines=False)
    for head in heads:
        table.add_column(head)
    for t in items:
        due = t["due"] + (" ⟳" if t["rrule"] else "")
        table.add_row(
            str(t["id"]),
            f"[red]{due}[/red]" if t.get("overdue") else due,
            kind_label(t["kind"], fa),
            t["title"],
            t.get("customer_name") or str(t["customer_id"]),
            t["assignee"] or "-",
            t["priority"],
        )
    Console().print(table)


@tasks.command("ical")
@click.option("--user", "assignee", required=True, help="Whose tasks.")
@click.option(
    "--style",
    type=click.Choice(["events", "mixed"]),
    default="events",
    show_default=True,
    help="events: every task a VEVENT (Google Calendar, Outlook); mixed: VTODO for non-appointments.",
)
@click.option("--include-closed", is_flag=True, help="Also done and cancelled tasks.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here instead of stdout.",
)
def ical(assignee, style, include_closed, output):
    """Export a user's tasks as an iCalendar (.ics) file to import or subscribe to."""
    from .ical_export import export_calendar

    with get_app().unit_of_work(readonly=True) as uow:
        data = export_calendar(uow, assignee=assignee, style=style, include_closed=include_closed)
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
    else:
        click.echo(data, nl=False)  # bytes go to the binary stream: CRLF line ends kept


@tasks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--customer", help="Link every event to this customer (else matched by attendee email)."
)
@click.option("--user", "assignee", help="Assign the new tasks to this user.")
@click.option(
    "--kind", help="Kind of the new tasks (default: meeting for events, task for to-dos)."
)
@click.option("--include-past", is_flag=True, help="Also import events that are already over.")
@click.option(
    "--skip-unmatched", is_flag=True, help="Skip events matching no customer instead of refusing."
)
@click.option("--dry-run", is_flag=True, help="Check and report, store nothing.")
@click.option("--json", "as_json", is_flag=True)
def import_cmd(path, customer, assignee, kind, include_past, skip_unmatched, dry_run, as_json):
    """Import appointments from an .ics file (Google Calendar, Outlook) as tasks; all or nothing."""
    from .ical_import import import_calendar

    with open(path, "rb") as fh:
        data = fh.read()
    app = get_app()
    summary = None
    try:
        with app.unit_of_work() as uow:
            summary = import_calendar(
                uow,
                data,
                name=path,
                customer=customer,
                assignee=assignee,
                kind=kind,
                include_past=include_past,
                skip_unmatched=skip_unmatched,
            )
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    result = {**summary.to_dict(), "dry_run": dry_run}
    if as_json:
        echo_json(result)
        return
    verb = "would be " if dry_run else ""
    click.echo(
        f"{len(summary.created)} {verb}created, {len(summary.updated)} {verb}updated, "
        f"{len(summary.cancelled)} {verb}cancelled, {len(summary.unchanged)} unchanged, "
        f"{len(summary.skipped)} skipped"
    )
    for item in summary.skipped:
        click.echo(f"  skipped {item['title'] or item['uid']}: {item['reason']}")


@tasks.group("users")
def users():
    """The people tasks can be assigned to."""


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", help="Display name (Persian or English).")
@click.option("--email", help="Where calendar invitations and reminders go.")
def users_add(username, display_name, email):
    """Add a user tasks can be assigned to."""
    from .users import add_user

    with get_app().unit_of_work() as uow:
        user = add_user(uow, username, display_name=display_name, email=email)
        click.echo(user.username)


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json):
    """List users."""
    from .users import list_users, user_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        items = [user_to_dict(u) for u in list_users(uow)]
    if as_json:
        echo_json(items)
        return
    for u in items:
        click.echo(
            f"{u['username']}\t{u['display_name']}\t{u['email'] or ''}\t{'' if u['active'] else 'inactive'}"
        )


@users.command("deactivate")
@click.argument("username")
def users_deactivate(username):
    """Stop assigning tasks to a user (their tasks stay)."""
    from .users import set_active

    with get_app().unit_of_work() as uow:
        set_active(uow, username, False)
    click.echo(f"{username} deactivated")


@tasks.group("calendar")
def calendar():
    """Two-way sync of each user's tasks with a CalDAV calendar (Nextcloud, Fastmail, iCloud…)."""


@calendar.command("connect")
@click.argument("user")
@click.option(
    "--url",
    required=True,
    help="The CalDAV collection, e.g. https://cloud.example.ir/remote.php/dav/calendars/sara/crm/",
)
@click.option("--username", "login", help="Login on the CalDAV server.")
@click.option("--password", help="env:NAME — the environment variable holding the password.")
@click.option(
    "--style",
    type=click.Choice(["mixed", "events"]),
    default="mixed",
    show_default=True,
    help="mixed: to-dos for tasks, events for appointments; events: every task an event.",
)
@click.option("--no-check", is_flag=True, help="Store without asking the server first.")
def calendar_connect(user, url, login, password, style, no_check):
    """Connect USER's tasks to a CalDAV calendar (the next sync sends them all)."""
    from .calendar_sync import connect

    with get_app().unit_of_work() as uow:
        conn = connect(
            uow, user, url=url, login=login, password=password, style=style, check=not no_check
        )
        click.echo(f"{conn.username}: connected to {conn.url}")


@calendar.command("sync")
@click.argument("user", required=False)
@click.option("--json", "as_json", is_flag=True)
def calendar_sync(user, as_json):
    """Sync USER's tasks (or every connected user's) both ways; prints what moved each way."""
    from crmcore.api import CRMError

    from .calendar_sync import sync_all

    app = get_app()
    results, errors = sync_all(app.unit_of_work, user=user)
    if as_json:
        echo_json({"results": [r.to_dict() for r in results], "errors": errors})
    else:
        for r in results:
            click.echo(_sync_line(r))
        if not results and not errors:
            click.echo("No calendar connected (crm tasks calendar connect USER --url URL).")
    if errors:
        raise CRMError(
            errors[0] if len(errors) == 1 else f"{len(errors)} calendars failed; first: {errors[0]}"
        )


def _sync_line(r) -> str:
    d = r.to_dict()
    back = d["from_calendar"]
    kinds = ("moved", "completed", "cancelled", "updated", "created")
    parts = [f"{len(back[k])} {k}" for k in kinds if back[k]]
    words = {"created": "new", "updated": "changed", "removed": "removed"}
    out = [f"{len(d['to_calendar'][k])} {word}" for k, word in words.items() if d["to_calendar"][k]]
    line = (
        f"{r.user}: from the calendar {', '.join(parts) or 'nothing'}; "
        f"to the calendar {', '.join(out) or 'nothing'}"
    )
    if r.conflicts:
        won = sum(1 for c in r.conflicts if c["winner"] == "crm")
        line += f"; {len(r.conflicts)} conflict(s), CRM kept {won}"
    if back["skipped"]:
        line += f"; {len(back['skipped'])} calendar item(s) skipped"
    return line


@calendar.command("status")
@click.option("--json", "as_json", is_flag=True)
def calendar_status(as_json):
    """The connected calendars, their last sync and error (passwords are never shown)."""
    from crmcore.api import cli_language, formatter_for

    from .calendar_sync import status

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = status(uow)
        fmt = formatter_for(uow, cli_language(), calendar=_calendar(app))
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No calendar connected (crm tasks calendar connect USER --url URL).")
    for row in rows:
        when = fmt.moment(row["last_sync_at"]) if row["last_sync_at"] else fmt.pick("never", "هرگز")
        click.echo(f"{row['user']}: {row['url']} ({row['style']})")
        count = fmt.number(row["tasks"])
        click.echo(
            "  "
            + fmt.pick(
                f"{count} task(s) in step, last sync {when}",
                f"{count} کار هماهنگ، آخرین هماهنگی {when}",
            )
        )
        if row["last_error"]:
            click.echo("  " + fmt.pick("last error: ", "آخرین خطا: ") + row["last_error"])
