"""``crm voip …``: listen to the PBX, serve the webhooks, read the call log and follow-ups, click-to-call."""

from __future__ import annotations

import json
import logging
import sys

import click

from crmcore.api import echo_json, get_app


def _config(**overrides):
    import attrs

    from .config import config_for

    cfg = config_for(get_app())
    return attrs.evolve(cfg, **{k: v for k, v in overrides.items() if v is not None})


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _pop_printer(as_json: bool):
    app = get_app()

    def show(pop: dict) -> None:
        from .screen_pop import pop_line

        if as_json:
            click.echo(json.dumps(pop, ensure_ascii=False, default=str))
        else:
            click.echo(pop_line(pop, calendar=app.calendar, tz=app.timezone))
        sys.stdout.flush()

    return show


@click.group()
def voip():
    """Telephony: screen pops, the call log, missed-call follow-ups, click-to-call."""


@voip.command("listen")
@click.option("--host", help="AMI host (default $CRM_VOIP_AMI_HOST, else 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="AMI port (default $CRM_VOIP_AMI_PORT, else 5038).",
)
@click.option("--username", help="AMI user (default $CRM_VOIP_AMI_USERNAME).")
@click.option(
    "--secret",
    help="AMI secret (prefer $CRM_VOIP_AMI_SECRET: command lines are visible to others).",
)
@click.option(
    "--count", type=click.IntRange(1), help="Stop after this many screen pops (scripts, tests)."
)
@click.option(
    "--keepalive",
    type=click.FloatRange(0.05),
    default=20.0,
    show_default=True,
    help="Seconds between AMI Pings; a missing Pong reconnects.",
)
@click.option(
    "--retry-max",
    type=click.FloatRange(0.01),
    default=60.0,
    show_default=True,
    help="Longest wait between reconnection attempts (seconds; back-off starts at 1 s and doubles).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pop instead of a line.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Log every connection and call event on stderr."
)
def listen(host, port, username, secret, count, keepalive, retry_max, as_json, verbose):
    """Follow an Asterisk PBX (AMI) and print one line per incoming call: who is calling, their tier, open
    tickets and last purchase; every call lands in the caller's history."""
    import asyncio

    from .adapters.ami_client import AMIAuthError, Backoff
    from .listener import listen_ami

    _logging(verbose)
    cfg = _config(ami_host=host, ami_port=port, ami_username=username, ami_secret=secret)
    backoff = Backoff(initial=min(1.0, retry_max), maximum=retry_max)
    try:
        asyncio.run(
            listen_ami(
                get_app(),
                config=cfg,
                on_pop=_pop_printer(as_json),
                count=count,
                backoff=backoff,
                keepalive=keepalive,
            )
        )
    except AMIAuthError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        pass


@voip.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8088, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print pops as JSON objects.")
@click.option("-v", "--verbose", is_flag=True)
def serve(host, port, as_json, verbose):
    """Serve the webhooks (POST /voip/twilio, POST /voip/webhook) and print the pops they cause."""
    import uvicorn

    from .webapp import create_app

    _logging(verbose)
    cfg = _config()
    if not cfg.twilio_auth_token and not cfg.webhook_secret:
        raise click.ClickException(
            "set CRM_VOIP_TWILIO_AUTH_TOKEN and/or CRM_VOIP_WEBHOOK_SECRET first: "
            "unsigned webhooks are refused"
        )
    uvicorn.run(
        create_app(get_app(), config=cfg, on_pop=_pop_printer(as_json)),
        host=host,
        port=port,
        log_level="info" if verbose else "warning",
    )


@voip.command("lookup")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
def lookup(number, as_json):
    """Who has NUMBER (any format: 0912…, +98…, 0098…, ۰۹۱۲…, 8-digit landline, trunk prefixes)?"""
    from crmcore.api import ValidationError

    from .lookup import customers_with_number
    from .numbers import normalize_caller

    app = get_app()
    caller = normalize_caller(number, _config())
    if caller.e164 is None and caller.kind in ("invalid", "withheld"):
        raise ValidationError(
            caller.reason if caller.kind == "invalid" else f"{number!r} is not a phone number",
            field="number",
        )
    with app.unit_of_work(readonly=True) as uow:
        found = [
            {"id": c.id, "name": c.display_name} for c in customers_with_number(uow, caller.e164)
        ]
    out = {
        "input": number,
        "number": caller.e164,
        "kind": caller.kind,
        "reason": caller.reason,
        "customers": found,
    }
    if as_json:
        echo_json(out)
        return
    if caller.e164 is None:
        click.echo(f"{number}: {caller.reason}")
    elif not found:
        click.echo(
            f"{caller.e164} ({caller.kind}): no customer — crm customers add --name NAME --phone {caller.e164}"
        )
    else:
        click.echo(
            f"{caller.e164} ({caller.kind}): "
            + ", ".join(f"{c['name']} (#{c['id']})" for c in found)
        )


@voip.command("calls")
@click.option("--customer", help="Only this customer's calls (id, external id, phone or email).")
@click.option("--status", type=click.Choice(["ringing", "in_progress", "completed", "missed"]))
@click.option("--unknown", is_flag=True, help="Only calls from numbers no customer has.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def calls(customer, status, unknown, limit, as_json):
    """The call log, newest first."""
    from sqlalchemy import select

    from crmcore.api import format_datetime, resolve_customer

    from .models import Call
    from .service import call_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        q = select(Call).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)
        if customer:
            q = q.where(Call.customer_id == resolve_customer(uow.session, customer).id)
        if status:
            q = q.where(Call.status == status)
        if unknown:
            q = q.where(Call.customer_id.is_(None), Call.party_e164.is_not(None))
        rows = list(uow.session.scalars(q))
        data = [call_to_dict(c) for c in rows]
        shown = [format_datetime(c.started_at, app.calendar, tz=app.timezone) for c in rows]
    if as_json:
        echo_json(data)
        return
    if not data:
        click.echo("no calls")
    for d, when in zip(data, shown):
        who = f"customer {d['customer_id']}" if d["customer_id"] else "unknown"
        talk = f"{d['talk_seconds']}s" if d["talk_seconds"] is not None else "-"
        click.echo(
            f"{d['id']}\t{when}\t{d['direction']}\t{d['status']}\t{d['number'] or d['number_kind']}\t{who}\t"
            f"ext {d['extension'] or '-'}\t{d['answered_by'] or '-'}\t{talk}"
        )


@voip.group("follow-ups")
def follow_ups():
    """Missed-call follow-ups (those kept by voip when neither tasks nor tickets took them)."""


@follow_ups.command("list")
@click.option(
    "--all", "show_all", is_flag=True, help="Also done ones and those handed to tasks or tickets."
)
@click.option("--json", "as_json", is_flag=True)
def follow_ups_list(show_all, as_json):
    """Open follow-ups, soonest due first."""
    from sqlalchemy import select

    from crmcore.api import format_datetime

    from .models import FollowUp

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        q = select(FollowUp).order_by(FollowUp.due_at, FollowUp.id)
        if not show_all:
            q = q.where(FollowUp.status == "open")
        rows = [
            {
                "id": f.id,
                "number": f.caller_e164,
                "customer_id": f.customer_id,
                "call_id": f.call_id,
                "via": f.via,
                "reference": f.reference,
                "title": f.title,
                "status": f.status,
                "missed_calls": f.missed_calls,
                "due_at": f.due_at.isoformat(),
                "due": format_datetime(f.due_at, app.calendar, tz=app.timezone),
                "first_missed_at": f.first_missed_at.isoformat(),
                "last_missed_at": f.last_missed_at.isoformat(),
            }
            for f in uow.session.scalars(q)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no open follow-ups")
    for r in rows:
        via = "" if r["via"] == "voip" else f"\t→ {r['via']} {r['reference'] or ''}"
        click.echo(
            f"{r['id']}\tdue {r['due']}\t{r['number']}\t×{r['missed_calls']}\t{r['status']}{via}\t{r['title']}"
        )


@follow_ups.command("done")
@click.argument("follow_up_id", type=int)
def follow_ups_done(follow_up_id):
    """Mark a follow-up done (the caller was called back)."""
    from .actions import mark_follow_up_done

    with get_app().unit_of_work() as uow:
        mark_follow_up_done(uow, follow_up_id)
    click.echo(f"follow-up {follow_up_id} done")


@voip.command("call")
@click.argument("customer")
@click.option("--extension", required=True, help="The agent's phone to ring first (e.g. 101).")
@click.option("--number", help="Which of the customer's numbers (default: their first).")
@click.option("--host")
@click.option("--port", type=click.IntRange(1, 65535))
@click.option("--username")
@click.option("--secret")
def click_to_call(customer, extension, number, host, port, username, secret):
    """Click-to-call: ring EXTENSION, then dial the customer (AMI Originate)."""
    from crmcore.api import resolve_customer

    from .actions import click_to_call as dial

    cfg = _config(ami_host=host, ami_port=port, ami_username=username, ami_secret=secret)
    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        placed = dial(cfg, extension=extension, customer=c, number=number)
        name = c.display_name
    click.echo(f"ringing {extension}, then {placed['dial']} ({name}): {placed['message']}")
