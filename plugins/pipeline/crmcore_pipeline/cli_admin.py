"""``crm pipeline reps|sources|reasons|targets …``: the people and the managed lists."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app


def _table(headers, rows):
    from rich.table import Table

    from .cli_show import console

    table = Table(*headers)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console().print(table)


@click.group()
def reps():
    """Sales reps (owners of leads and deals; round-robin among the active ones)."""


@reps.command("add")
@click.argument("username")
@click.argument("name")
def reps_add(username, name):
    """Add sales rep USERNAME named NAME."""
    from .service import add_rep

    with get_app().unit_of_work() as uow:
        add_rep(uow, username, name)
    click.echo(f"sales rep {username} added")


@reps.command("list")
@click.option("--json", "as_json", is_flag=True)
def reps_list(as_json):
    """Sales reps with their open deals."""
    from sqlalchemy import func, select

    from .models import Deal
    from .service import list_reps, rep_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        counts = dict(
            uow.session.execute(
                select(Deal.owner_id, func.count(Deal.id))
                .where(Deal.status == "open")
                .group_by(Deal.owner_id)
            ).all()
        )
        items = [{**rep_to_dict(r), "open_deals": counts.get(r.id, 0)} for r in list_reps(uow)]
    if as_json:
        echo_json(items)
    else:
        _table(
            ["username", "name", "active", "open deals"],
            [
                [r["username"], r["name"], "yes" if r["active"] else "no", r["open_deals"]]
                for r in items
            ],
        )


@reps.command("deactivate")
@click.argument("username")
def reps_deactivate(username):
    """Stop giving USERNAME new round-robin turns (their deals stay theirs)."""
    from .service import set_rep_active

    with get_app().unit_of_work() as uow:
        set_rep_active(uow, username, False)
    click.echo(f"sales rep {username} deactivated")


@reps.command("activate")
@click.argument("username")
def reps_activate(username):
    """Put USERNAME back in the round-robin."""
    from .service import set_rep_active

    with get_app().unit_of_work() as uow:
        set_rep_active(uow, username, True)
    click.echo(f"sales rep {username} activated")


@click.group()
def sources():
    """Lead sources (website, referral, exhibition…)."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True)
def sources_list(as_json):
    """Lead sources, their Persian and English names."""
    from .service import list_sources

    with get_app().unit_of_work() as uow:
        items = [
            {"code": s.code, "name": s.name, "name_en": s.name_en, "active": bool(s.active)}
            for s in list_sources(uow)
        ]
    if as_json:
        echo_json(items)
    else:
        _table(
            ["code", "name", "name (en)", "active"],
            [[s["code"], s["name"], s["name_en"], s["active"]] for s in items],
        )


@sources.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--name-en")
def sources_add(code, name, name_en):
    """Add lead source CODE named NAME."""
    from .service import add_source

    with get_app().unit_of_work() as uow:
        add_source(uow, code, name, name_en=name_en)
    click.echo(f"lead source {code} added")


@click.group()
def reasons():
    """Reasons deals are won or lost (a managed list)."""


@reasons.command("list")
@click.option("--kind", type=click.Choice(["won", "lost"]))
@click.option("--json", "as_json", is_flag=True)
def reasons_list(kind, as_json):
    """Won and lost reasons (the managed list deals are closed with)."""
    from .service import list_reasons

    with get_app().unit_of_work() as uow:
        items = [
            {
                "kind": r.kind,
                "code": r.code,
                "name": r.name,
                "name_en": r.name_en,
                "active": bool(r.active),
            }
            for r in list_reasons(uow, kind)
        ]
    if as_json:
        echo_json(items)
    else:
        _table(
            ["kind", "code", "name", "name (en)"],
            [[r["kind"], r["code"], r["name"], r["name_en"]] for r in items],
        )


@reasons.command("add")
@click.argument("kind", type=click.Choice(["won", "lost"]))
@click.argument("code")
@click.argument("name")
@click.option("--name-en")
def reasons_add(kind, code, name, name_en):
    """Add a KIND (won or lost) reason CODE named NAME."""
    from .service import add_reason

    with get_app().unit_of_work() as uow:
        add_reason(uow, kind, code, name, name_en=name_en)
    click.echo(f"{kind} reason {code} added")


@click.group()
def targets():
    """Sales targets per rep and period (Jalali or Gregorian month or year)."""


@targets.command("set")
@click.argument("rep")
@click.option("--period", required=True, help="1403-07 (Jalali month), 1403, 2025-03 or 2025.")
@click.option("--amount", required=True)
@click.option("--currency", default="IRR", show_default=True)
def targets_set(rep, period, amount, currency):
    """Set REP's target for a period (replaces an earlier one)."""
    from .service import set_target

    with get_app().unit_of_work() as uow:
        t = set_target(uow, rep, period, amount, currency=currency)
        click.echo(f"target of {rep} for {t.label} set")


@targets.command("list")
@click.option("--rep", metavar="USER")
@click.option("--json", "as_json", is_flag=True)
def targets_list(rep, as_json):
    """Targets per rep and period."""
    from .service import list_targets, target_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        items = [target_to_dict(t) for t in list_targets(uow, rep=rep)]
    if as_json:
        echo_json(items)
    else:
        _table(
            ["rep", "period", "amount", "currency"],
            [[t["rep"], t["period"], t["amount"], t["currency"]] for t in items],
        )
