"""``crm web`` (serve the HTTP API and the web interface) and ``crm users …`` (users, roles, per-plugin
permissions, API tokens)."""

from __future__ import annotations

import sys

import click

from .context import echo_json, get_app

ROLE_CHOICE = click.Choice(["admin", "manager", "agent", "read-only"])
LEVEL_CHOICE = click.Choice(["read", "write", "manage", "admin"])
NOTIFY_HELP = (
    "Channels of staff notifications besides the web list: email, sms, pop "
    "(comma-separated; 'web' = the list only; '' = every channel the user has an address "
    "for)."
)


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=None,
    help="Send cookies over HTTPS only (behind a TLS proxy); default $CRM_WEB_SECURE_COOKIES.",
)
@click.option(
    "--locale", type=click.Choice(["fa", "en"]), help="Language before anyone chooses (default fa)."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes (rate limits are counted per process).",
)
@click.option(
    "--proxy",
    "forwarded",
    metavar="ADDRESSES",
    help="Trust X-Forwarded-For/Proto from these proxy addresses (e.g. 127.0.0.1).",
)
def web(host, port, secure_cookies, locale, workers, forwarded):
    """Serve the JSON API (/api/, OpenAPI at /api/openapi.json) and the web interface."""
    import os

    import uvicorn

    app = get_app()
    if secure_cookies is not None:
        os.environ["CRM_WEB_SECURE_COOKIES"] = "1" if secure_cookies else "0"
    if locale:
        os.environ["CRM_WEB_LOCALE"] = locale
    os.environ["CRM_DATABASE_URL"] = app.url
    os.environ["CRM_CALENDAR"] = app.calendar
    os.environ["CRM_TIMEZONE"] = app.timezone
    from ..web.server import check_ready

    for line in check_ready(app):
        click.echo(line, err=True)
    click.echo(f"crm web: http://{host}:{port}/ (API: /api/, OpenAPI: /api/openapi.json)", err=True)
    uvicorn.run(
        "crmcore.web.server:application",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=bool(forwarded),
        forwarded_allow_ips=forwarded or None,
        log_level="info",
        server_header=False,
    )


@click.group()
def users():
    """Users of the web interface and the API: roles, per-plugin permissions, API tokens."""


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--name", "display_name", help="The name shown in the interface.")
@click.option("--extension", help="Phone extension whose caller-ID pops this user sees.")
@click.option("--locale", type=click.Choice(["fa", "en"]))
@click.option("--email", help="The user's own address, for staff notifications.")
@click.option("--phone", help="The user's own mobile, for staff notifications by SMS.")
@click.option("--notify", metavar="CHANNELS", help=NOTIFY_HELP)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def add(username, role, display_name, extension, locale, email, phone, notify, password_stdin):
    """Add a user (asks for the password)."""
    from ..web.users import add_user

    password = _password(password_stdin)
    with get_app().unit_of_work() as uow:
        user = add_user(
            uow,
            username,
            password,
            role,
            display_name=display_name,
            extension=extension,
            locale=locale,
            email=email,
            phone=phone,
            notify=notify,
        )
        click.echo(f"user {user.username} added ({user.role})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json):
    """List the users with their roles and permissions."""
    from ..web.users import list_users, user_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        rows = [user_to_dict(u) for u in list_users(uow.session)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no users yet: crm users add NAME --role admin")
    for u in rows:
        perms = ", ".join(f"{k}={v}" for k, v in u["permissions"].items())
        state = "" if u["active"] else " (inactive)"
        click.echo(f"{u['username']:<20} {u['role']:<10}{state}{'  ' + perms if perms else ''}")


@users.command("set")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE)
@click.option("--active/--inactive", default=None)
@click.option("--name", "display_name")
@click.option("--extension", help="'' clears it.")
@click.option("--locale", type=click.Choice(["fa", "en", ""]))
@click.option("--email", help="The user's own address ('' clears it).")
@click.option("--phone", help="The user's own mobile ('' clears it).")
@click.option("--notify", metavar="CHANNELS", help=NOTIFY_HELP)
def set_(username, role, active, display_name, extension, locale, email, phone, notify):
    """Change a user's role, state, name, extension, language, own email/mobile or notification
    channels (role and state changes end their sessions)."""
    from ..web.users import update_user

    with get_app().unit_of_work() as uow:
        user = update_user(
            uow,
            username,
            role=role,
            active=active,
            display_name=display_name,
            extension=extension,
            locale=locale,
            email=email,
            phone=phone,
            notify=notify,
        )
        click.echo(f"user {user.username}: {user.role}{'' if user.active else ', inactive'}")


@users.command("notifications")
@click.argument("username")
@click.option("--unread", is_flag=True, help="Only those not read yet.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
def notifications(username, unread, limit, as_json):
    """A user's staff notifications (task reminders, SLA warnings, assignments…), newest first."""
    from ..formatting import Formatter
    from ..services.notifications import list_notifications, notification_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        found = list_notifications(uow.session, username, unread=unread, limit=limit)
        rows = [notification_to_dict(n) for n in found]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"no {'unread ' if unread else ''}notifications for {username}")
        return
    fmt = Formatter.for_app(app)
    for n in rows:
        mark = " " if n["read_at"] else "*"
        sent = ", ".join(f"{k}: {v}" for k, v in n["deliveries"].items())
        when = fmt.moment(n["created_at"])
        click.echo(f"{mark} {n['id']:>5}  {when}  [{n['kind']}] {n['title']}")
        if n["body"]:
            click.echo(f"         {n['body']}")
        click.echo(f"         {n['link'] + ' · ' if n['link'] else ''}{sent}")


@users.command("read")
@click.argument("username")
@click.argument("ids", nargs=-1, type=int)
def read_notifications(username, ids):
    """Mark a user's notifications IDS read (all unread ones when none is given)."""
    from ..services.notifications import mark_read

    with get_app().unit_of_work() as uow:
        changed = mark_read(uow, username, list(ids) if ids else None)
    click.echo(f"{changed} notification(s) of {username} marked read")


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True)
def passwd(username, password_stdin):
    """Set a user's password (ends their sessions and revokes their API tokens)."""
    from ..web.users import set_password

    password = _password(password_stdin)
    with get_app().unit_of_work() as uow:
        set_password(uow, username, password)
    click.echo(f"password of {username} changed; their sessions ended, their tokens were revoked")


@users.command("permit")
@click.argument("username")
@click.argument("plugin")
@click.argument("level", type=click.Choice(["none", "read", "write", "manage", "inherit"]))
def permit(username, plugin, level):
    """Give USERNAME a LEVEL for PLUGIN's pages, panels and API (none hides it; inherit follows the role)."""
    from ..web.users import set_permission

    with get_app().unit_of_work() as uow:
        set_permission(uow, username, plugin, level)
    click.echo(f"{username}: {plugin} = {level}")


@users.command("remove")
@click.argument("username")
def remove(username):
    """Delete a user with their sessions and tokens (the audit log keeps their name)."""
    from ..web.users import delete_user

    with get_app().unit_of_work() as uow:
        delete_user(uow, username)
    click.echo(f"user {username} removed")


@users.group("team")
def team():
    """Teams: the record rules' "team" scope (a user may belong to several)."""


@team.command("add")
@click.argument("name")
def team_add(name):
    """Create a team."""
    from ..web.users import add_team

    with get_app().unit_of_work() as uow:
        add_team(uow, name)
    click.echo(f"team {name} added")


@team.command("remove")
@click.argument("name")
def team_remove(name):
    """Delete a team (its customers keep their owners)."""
    from ..web.users import remove_team

    with get_app().unit_of_work() as uow:
        remove_team(uow, name)
    click.echo(f"team {name} removed")


@team.command("join")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
def team_join(name, usernames):
    """Put users in a team."""
    from ..web.users import set_membership

    with get_app().unit_of_work() as uow:
        for username in usernames:
            set_membership(uow, name, username, True)
    click.echo(f"team {name}: {', '.join(usernames)} joined")


@team.command("leave")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
def team_leave(name, usernames):
    """Take users out of a team."""
    from ..web.users import set_membership

    with get_app().unit_of_work() as uow:
        for username in usernames:
            set_membership(uow, name, username, False)
    click.echo(f"team {name}: {', '.join(usernames)} left")


@team.command("list")
@click.option("--json", "as_json", is_flag=True)
def team_list(as_json):
    """Teams and their members."""
    from ..web.users import list_teams

    with get_app().unit_of_work(readonly=True) as uow:
        rows = list_teams(uow.session)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no teams")
    for t in rows:
        click.echo(f"{t['name']}: {', '.join(t['members']) or '(nobody)'}")


SCOPE_CHOICE = click.Choice(["all", "team", "own"])


@users.command("scope")
@click.argument("role", required=False, type=click.Choice(["manager", "agent", "read-only"]))
@click.option("--read", type=SCOPE_CHOICE, help="Customers (and deals, tickets) the role may see.")
@click.option("--write", type=SCOPE_CHOICE, help="Those it may change.")
@click.option(
    "--unassigned",
    type=click.Choice(["shared", "private"]),
    help="Records without owner or team: everyone's (shared) or only for 'all' scopes.",
)
@click.option("--json", "as_json", is_flag=True)
def scope(role, read, write, unassigned, as_json):
    """Record rules: show them, or set ROLE's scopes (all, team: own and the team's, own)."""
    from ..services.access import role_scopes, set_role_scope, set_unassigned

    if (read or write) and not role:
        raise click.UsageError("name the ROLE whose scope to set")
    readonly = not (read or write or unassigned)
    with get_app().unit_of_work(readonly=readonly) as uow:
        if read or write:
            set_role_scope(uow, role, read=read, write=write)
        if unassigned:
            set_unassigned(uow, unassigned)
        scopes = role_scopes(uow)
    if as_json:
        echo_json(scopes)
        return
    for name, value in scopes.items():
        if name == "unassigned":
            click.echo(f"unassigned records: {value}")
        else:
            click.echo(f"{name:<10} read {value['read']:<5} write {value['write']}")


@users.group("token")
def token():
    """API tokens for integrations."""


@token.command("create")
@click.argument("username")
@click.argument("name")
@click.option("--level", type=LEVEL_CHOICE, help="At most the user's level (default: the user's).")
@click.option(
    "--expires",
    metavar="LIFETIME",
    help="Stop working after this long: 90d (days), 12h (hours), 4w (weeks). "
    "Default: until revoked.",
)
def token_create(username, name, level, expires):
    """Create a token NAME for USERNAME; prints the secret once."""
    from ..web.users import create_token, parse_lifetime

    app = get_app()
    with app.unit_of_work() as uow:
        lifetime = parse_lifetime(expires)
        tok, secret = create_token(uow, username, name, level=level, expires=lifetime)
        level, until = tok.level, tok.expires_at
    click.echo(secret)
    lasts = f"until {_when(app, until)}" if until else "until revoked"
    click.echo(
        f"token {name!r} for {username} ({level}, {lasts}); store it now, it is not shown again",
        err=True,
    )


def _when(app, moment) -> str:
    from ..domain.dates import format_datetime

    return format_datetime(moment, app.calendar, tz=app.timezone) if moment else "never"


@token.command("list")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
def token_list(username, as_json):
    """List a user's tokens (never the secrets): level, state, last use, expiry."""
    from ..web.users import get_user, token_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        tokens = get_user(uow.session, username).tokens
        rows = [token_to_dict(t, uow.now()) for t in tokens]
        shown = [
            (t.name, t.level, row["state"], _when(app, t.last_used_at), _when(app, t.expires_at))
            for t, row in zip(tokens, rows)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"{username} has no tokens")
    for name, level, state, used, expires in shown:
        click.echo(f"{name:<30} {level:<7} {state:<8} last used {used:<16}  expires {expires}")


@token.command("revoke")
@click.argument("username")
@click.argument("name", required=False)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Revoke every token of USERNAME (a leaked password, a leaver).",
)
def token_revoke(username, name, every):
    """Revoke the token NAME of USERNAME, or with --all every one of their tokens."""
    from ..web.users import revoke_token, revoke_tokens

    if bool(name) == every:
        raise click.UsageError("name one token, or give --all (not both)")
    with get_app().unit_of_work() as uow:
        if every:
            count = revoke_tokens(uow, username)
        else:
            revoke_token(uow, username, name)
    if every:
        click.echo(f"{count} tokens of {username} revoked")
    else:
        click.echo(f"token {name!r} of {username} revoked")
