"""``crm tickets agent|team|calendar|sla|email …``: the configuration of the help desk and email import."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app


# --- agents and teams ------------------------------------------------------------------------------------
@click.group()
def agent():
    """Agents who answer tickets."""


@agent.command("add")
@click.argument("username")
@click.option("--name", help="Display name (default: the username).")
@click.option("--team")
def agent_add(username, name, team):
    from .agents import add_agent

    with get_app().unit_of_work() as uow:
        add_agent(uow, username, name=name, team=team)


@agent.command("set")
@click.argument("username")
@click.option("--team", help="Move to this team ('' for none).")
@click.option("--active/--inactive", default=None, help="Inactive agents get no new tickets.")
def agent_set(username, team, active):
    from .agents import set_agent

    with get_app().unit_of_work() as uow:
        set_agent(uow, username, team=team, active=active)


@agent.command("list")
@click.option("--json", "as_json", is_flag=True)
def agent_list(as_json):
    """Agents with their unsolved tickets."""
    from sqlalchemy import select

    from .agents import agent_to_dict, open_load
    from .models import Agent

    with get_app().unit_of_work(readonly=True) as uow:
        agents = uow.session.scalars(select(Agent).order_by(Agent.username)).all()
        load = open_load(uow.session, [a.id for a in agents])
        rows = [agent_to_dict(a, load[a.id]) for a in agents]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        state = "" if r["active"] else " (inactive)"
        click.echo(
            f"{r['username']}\t{r['name']}\t{r['team'] or '-'}\t{r['open_tickets']} open{state}"
        )


@click.group()
def team():
    """Teams and their assignment rule."""


@team.command("add")
@click.argument("name")
@click.option(
    "--assignment",
    type=click.Choice(["round_robin", "least_loaded"]),
    default="round_robin",
    show_default=True,
)
def team_add(name, assignment):
    from .agents import add_team

    with get_app().unit_of_work() as uow:
        add_team(uow, name, assignment=assignment)


@team.command("list")
@click.option("--json", "as_json", is_flag=True)
def team_list(as_json):
    from sqlalchemy import select

    from .models import Agent, Team

    with get_app().unit_of_work(readonly=True) as uow:
        rows = [
            {
                "name": t.name,
                "assignment": t.assignment,
                "agents": list(
                    uow.session.scalars(
                        select(Agent.username).where(Agent.team_id == t.id).order_by(Agent.username)
                    )
                ),
            }
            for t in uow.session.scalars(select(Team).order_by(Team.name))
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['name']}\t{r['assignment']}\t{', '.join(r['agents']) or '-'}")


# --- business calendars ----------------------------------------------------------------------------------
@click.group()
def calendar():
    """Business calendars: working hours, time zone, holidays (Jalali dates)."""


@calendar.command("set")
@click.argument("name", default="default")
@click.option(
    "--hours",
    "hours",
    multiple=True,
    metavar="'DAYS HH:MM-HH:MM[,HH:MM-HH:MM]'",
    help="e.g. --hours 'sat-wed 09:00-17:00' --hours 'thu 09:00-13:00' (replaces all hours).",
)
@click.option("--timezone", "zone", help="e.g. Asia/Tehran")
def calendar_set(name, hours, zone):
    """Create or change calendar NAME (default: 'default', Sat–Wed 09–17, Thu 09–13, Asia/Tehran)."""
    from .calendars import set_calendar

    with get_app().unit_of_work() as uow:
        set_calendar(uow, name, hours=hours, timezone=zone)


@calendar.command("show")
@click.argument("name", default="default")
@click.option("--json", "as_json", is_flag=True)
def calendar_show(name, as_json):
    from .calendars import calendar_to_dict, find_calendar, get_calendar

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        row = find_calendar(uow.session, name) or get_calendar(
            uow, name
        )  # 'default' is shown before first use
        data = calendar_to_dict(row)
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['name']} ({data['timezone']})")
    for day, ranges in data["hours"].items():
        click.echo(f"  {day}\t{', '.join(ranges) or 'off'}")
    for h in data["holidays"]:
        when = (
            f"every year {h['jalali']}"
            if h["every_year"]
            else (h["jalali"] if app.calendar == "jalali" else h["date"])
        )
        click.echo(f"  holiday {when}\t{h['name']}")


@calendar.command("holiday-add")
@click.argument("date")
@click.option(
    "--calendar", "name", default="default", show_default=True, help="The business calendar."
)
@click.option("--name", "label", default="", help="e.g. نوروز")
@click.option(
    "--every-year",
    is_flag=True,
    help="DATE is a Jalali MM-DD repeated every year (01-01 for Nowruz).",
)
@click.option(
    "--date-calendar",
    default="auto",
    show_default=True,
    help="Calendar DATE is written in: jalali, gregorian, or auto (years before 1700 are Jalali).",
)
def holiday_add(date, name, label, every_year, date_calendar):
    """Add a holiday: `1403-11-22`, `۱۴۰۳/۱۱/۲۲`, `2025-02-10`, or `--every-year 01-01`."""
    from .calendars import add_holiday

    with get_app().unit_of_work() as uow:
        add_holiday(
            uow, date, calendar=name, name=label, every_year=every_year, date_calendar=date_calendar
        )


@calendar.command("holiday-remove")
@click.argument("date")
@click.option("--calendar", "name", default="default", show_default=True)
@click.option("--every-year", is_flag=True)
def holiday_remove(date, name, every_year):
    from .calendars import remove_holiday

    with get_app().unit_of_work() as uow:
        remove_holiday(uow, date, calendar=name, every_year=every_year)


# --- SLA policies ----------------------------------------------------------------------------------------
@click.group()
def sla():
    """SLA policies: first-response and resolution targets in business time."""


@sla.command("set")
@click.argument("name")
@click.option("--first-response", required=True, help="e.g. 2h, 30m, 1h30m (business time)")
@click.option("--resolution", required=True, help="e.g. 16h")
@click.option("--priority", help="Only tickets of this priority (default: any).")
@click.option("--category", help="Only tickets of this category (default: any).")
@click.option(
    "--warn-before", default="60m", show_default=True, help="Warn this much business time ahead."
)
@click.option("--calendar", "cal", default="default", show_default=True)
def sla_set(name, first_response, resolution, priority, category, warn_before, cal):
    """Create or replace policy NAME (applies to tickets opened from now on)."""
    from .sla import set_policy

    with get_app().unit_of_work() as uow:
        set_policy(
            uow,
            name,
            first_response=first_response,
            resolution=resolution,
            priority=priority,
            category=category,
            warn_before=warn_before,
            calendar=cal,
        )


@sla.command("remove")
@click.argument("name")
def sla_remove(name):
    from .sla import remove_policy

    with get_app().unit_of_work() as uow:
        remove_policy(uow, name)


@sla.command("list")
@click.option("--json", "as_json", is_flag=True)
def sla_list(as_json):
    from sqlalchemy import select

    from .models import SlaPolicy
    from .sla import policy_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        rows = [
            policy_to_dict(p)
            for p in uow.session.scalars(select(SlaPolicy).order_by(SlaPolicy.name))
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(
            f"{r['name']}\tpriority={r['priority'] or 'any'}\tcategory={r['category'] or 'any'}\t"
            f"first response {r['first_response_minutes']}m\tresolution {r['resolution_minutes']}m\t"
            f"calendar {r['calendar']}"
        )


# --- incoming email --------------------------------------------------------------------------------------
@click.group()
def email():
    """Incoming email to tickets: .eml files and Maildirs (import), IMAP and Maildir sources (poll)."""


@email.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--include-seen",
    is_flag=True,
    help="Also Maildir messages already marked seen (duplicates skip).",
)
@click.option("--json", "as_json", is_flag=True)
def email_import(paths, include_seen, as_json):
    """Turn messages into tickets or replies; unreadable ones are listed and left unseen.

    A new ticket is dated by the message's own Date header (if not in the future). Exit code 1
    when any message was rejected (the others are imported)."""
    from .email_in import import_emails

    result = import_emails(get_app(), paths, include_seen=include_seen)
    if as_json:
        echo_json(result)
    else:
        for r in result["imported"]:
            ticket = f" #{r['ticket']}" if r["ticket"] else ""
            click.echo(f"{r['action']}{ticket}\t{r['source']}")
        for r in result["rejected"]:
            click.echo(f"rejected\t{r['source']}: {r['reason']}", err=True)
    if result["rejected"]:
        raise SystemExit(1)


def _poll_line(result) -> None:
    from .mail_sources import summary

    click.echo(summary(result), err=bool(result["error"]))
    for r in result["rejected"]:
        click.echo(f"  rejected\t{r['source']}: {r['reason']}", err=True)


@email.command("poll")
@click.argument("names", nargs=-1)
@click.option("--once", is_flag=True, help="Poll each source once and exit (for cron or the job).")
@click.option(
    "--interval",
    type=click.IntRange(min=5),
    default=60,
    show_default=True,
    help="Seconds between polls of a source without IMAP IDLE.",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: the results as JSON.")
def email_poll(names, once, interval, as_json):
    """Read new mail of the email sources (all, or NAMES) into tickets.

    Without --once it keeps watching: IMAP folders wait in IDLE where the server offers it and
    read a new mail at once, the others are polled every --interval seconds; Ctrl-C or
    SIGTERM stops.
    A failing source is reported in one line and the others go on; with --once the exit code
    is 1 when any source failed."""
    import signal
    import threading

    from .mail_sources import get_source, list_sources, poll_all, watch

    app = get_app()
    if once:
        results = poll_all(app, names)
        if as_json:
            echo_json(results)
        else:
            for result in results:
                _poll_line(result)
        if any(r["error"] for r in results):
            raise SystemExit(1)
        return
    with app.unit_of_work(readonly=True) as uow:
        sources = [get_source(uow, n) for n in names] if names else list_sources(uow)
    if not sources:
        raise click.ClickException("no email sources: add one with crm tickets email sources add")
    stop = threading.Event()
    # Ctrl-C or a service manager's SIGTERM ends the watch after the message being stored
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def report(result) -> None:
        if result["error"] or result["imported"] or result["rejected"]:
            _poll_line(result)

    watch(app, sources, report, stop, interval=interval)


@email.group("sources")
def email_sources():
    """Mailboxes polled for tickets: IMAP folders and Maildir directories."""


@email_sources.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(["imap", "maildir"]), default="imap", show_default=True)
@click.option("--host")
@click.option("--port", type=int, help="Default 993 for tls, 143 for starttls and none.")
@click.option(
    "--security", type=click.Choice(["tls", "starttls", "none"]), default="tls", show_default=True
)
@click.option("--username")
@click.option(
    "--password",
    metavar="env:NAME",
    help="The environment variable holding the password (the password is never stored).",
)
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--move-to", help="Move a message here once it is a ticket (default: mark it seen).")
@click.option(
    "--ca-file", type=click.Path(), help="CA certificates to trust (a self-signed server)."
)
@click.option("--path", type=click.Path(), help="The Maildir directory (kind maildir).")
@click.option("--replace", is_flag=True, help="Change the existing source NAME.")
def sources_add(
    name, kind, host, port, security, username, password, folder, move_to, ca_file, path, replace
):
    """Add the email source NAME, e.g.

    \b
    crm tickets email sources add shop --host imap.shop.ir \\
        --username support@shop.ir --password env:SHOP_IMAP_PASSWORD
    crm tickets email sources add local --kind maildir --path /var/mail/support
    """
    from .mail_sources import add_source

    with get_app().unit_of_work() as uow:
        source = add_source(
            uow,
            name,
            kind=kind,
            host=host,
            port=port,
            security=security,
            username=username,
            password=password,
            folder=folder,
            move_to=move_to,
            ca_file=ca_file,
            path=path,
            replace=replace,
        )
    click.echo(f"{source.name}\t{source.describe()}")


@email_sources.command("list")
@click.option("--json", "as_json", is_flag=True)
def sources_list(as_json):
    """The email sources (passwords appear as the env:NAME they are read from)."""
    from .mail_sources import list_sources, source_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        sources = list_sources(uow)
    if as_json:
        echo_json([source_to_dict(s) for s in sources])
        return
    for s in sources:
        click.echo(f"{s.name}\t{s.describe()}")


@email_sources.command("remove")
@click.argument("name")
def sources_remove(name):
    from .mail_sources import remove_source

    with get_app().unit_of_work() as uow:
        remove_source(uow, name)


@email_sources.command("test")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
def sources_test(names, as_json):
    """Connect to each source (all, or NAMES) and count the messages waiting; nothing is read.
    Exit code 1 when any source fails."""
    from .mail_sources import (
        SOURCE_ERRORS,
        check_source,
        get_source,
        list_sources,
        reason,
    )

    with get_app().unit_of_work(readonly=True) as uow:
        sources = [get_source(uow, n) for n in names] if names else list_sources(uow)
    results = []
    for s in sources:
        try:
            results.append({**check_source(s), "error": None})
        except SOURCE_ERRORS as exc:
            results.append({"source": s.name, "error": reason(exc, s)})
    if as_json:
        echo_json(results)
    for r in results if not as_json else ():
        if r["error"]:
            click.echo(f"{r['source']}: failed: {r['error']}", err=True)
        else:
            idle = " (IDLE)" if r.get("idle") else ""
            click.echo(f"{r['source']}: ok, {r['waiting']} waiting{idle}")
    if any(r["error"] for r in results):
        raise SystemExit(1)
