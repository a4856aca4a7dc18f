"""``crm pipeline deals …``: add, list, show, move, update, win, lose, reopen, log activities."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app

from .cli_show import render_deal, render_deals


@click.group()
def deals():
    """Deals: a customer's potential sale moving through the stages."""


def _dict(uow, deal, app, *, history: bool = False) -> dict:
    from crmcore.api import Customer

    from .service import deal_history, deal_to_dict, history_to_dict

    name = uow.session.get(Customer, deal.customer_id).display_name
    data = deal_to_dict(deal, customer_name=name, calendar=app.calendar, tz=app.timezone)
    if history:
        from .sales import purchase_of

        purchase = purchase_of(uow, deal)
        data["purchase_id"] = purchase.id if purchase else None
        data["history"] = [
            history_to_dict(h, calendar=app.calendar, tz=app.timezone)
            for h in deal_history(uow, deal)
        ]
    return data


@deals.command("add")
@click.option(
    "--customer", required=True, metavar="CUSTOMER", help="Id, external id, phone or email."
)
@click.option("--title", required=True)
@click.option("--amount", help="Exact amount (1,250,000 or ۱٬۲۵۰٬۰۰۰).")
@click.option("--currency", default="IRR", show_default=True)
@click.option("--expected-close", metavar="DATE", help="Jalali (1403-08-15) or Gregorian.")
@click.option("--pipeline", "pipeline_ref", metavar="CODE")
@click.option("--stage", metavar="STAGE", help="Open stage to start in (default: the first).")
@click.option("--owner", metavar="USER", help="Sales rep (default: next by round-robin).")
@click.option(
    "--no-round-robin", is_flag=True, help="Leave it unassigned when --owner is not given."
)
@click.option("--probability", metavar="PERCENT", help="Override the stage's win probability.")
@click.option("--next-activity", metavar="TEXT")
@click.option("--next-activity-on", metavar="DATE")
@click.option("--source", metavar="SOURCE", help="Lead source code (website, referral…).")
@click.option("--note")
@click.option("--json", "as_json", is_flag=True, help="Print the new deal as JSON.")
def add(
    customer,
    title,
    amount,
    currency,
    expected_close,
    pipeline_ref,
    stage,
    owner,
    no_round_robin,
    probability,
    next_activity,
    next_activity_on,
    source,
    note,
    as_json,
):
    """Open a deal for a customer."""
    from .service import create_deal

    app = get_app()
    with app.unit_of_work() as uow:
        deal = create_deal(
            uow,
            customer=customer,
            title=title,
            amount=amount,
            currency=currency,
            expected_close=expected_close,
            pipeline=pipeline_ref,
            stage=stage,
            owner=owner,
            round_robin=not no_round_robin,
            probability=probability,
            next_activity=next_activity,
            next_activity_on=next_activity_on,
            source=source,
            note=note,
        )
        data = _dict(uow, deal, app)
    if as_json:
        echo_json(data)
    else:
        click.echo(
            f"deal {data['id']} opened in stage {data['stage']}"
            + (f", owner {data['owner']}" if data["owner"] else ", unassigned")
        )


@deals.command("list")
@click.option(
    "--status", type=click.Choice(["open", "won", "lost", "all"]), default="open", show_default=True
)
@click.option("--pipeline", "pipeline_ref", metavar="CODE")
@click.option("--stage", metavar="STAGE")
@click.option("--owner", metavar="USER")
@click.option("--customer", metavar="CUSTOMER")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(status, pipeline_ref, stage, owner, customer, as_json):
    """Deals, filtered by status, pipeline, stage, owner or customer."""
    from .deals import customer_names
    from .service import deal_to_dict, list_deals

    app = get_app()
    with app.unit_of_work() as uow:
        found = list_deals(
            uow, status=status, pipeline=pipeline_ref, stage=stage, owner=owner, customer=customer
        )
        names = customer_names(uow, found)
        items = [
            deal_to_dict(
                d, customer_name=names.get(d.customer_id), calendar=app.calendar, tz=app.timezone
            )
            for d in found
        ]
    if as_json:
        echo_json(items)
    else:
        render_deals(items, calendar=app.calendar)


@deals.command("show")
@click.argument("deal_id", metavar="DEAL")
@click.option("--json", "as_json", is_flag=True)
def show(deal_id, as_json):
    """A deal with its stage history."""
    from .service import get_deal

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        data = _dict(uow, get_deal(uow, deal_id), app, history=True)
    if as_json:
        echo_json(data)
    else:
        render_deal(data, calendar=app.calendar)


@deals.command("move")
@click.argument("deal_id", metavar="DEAL")
@click.argument("stage")
@click.option("--note")
def move(deal_id, stage, note):
    """Move an open deal to another open STAGE (code or name)."""
    from .service import move_deal

    with get_app().unit_of_work() as uow:
        deal = move_deal(uow, deal_id, stage, note=note)
        click.echo(f"deal {deal.id} moved to {deal.stage.code} ({deal.stage.name})")


@deals.command("update")
@click.argument("deal_id", metavar="DEAL")
@click.option("--title")
@click.option("--amount", help="New amount ('' clears it).")
@click.option("--currency")
@click.option("--expected-close", metavar="DATE", help="Jalali or Gregorian ('' clears it).")
@click.option(
    "--probability", metavar="PERCENT", help="Override ('' returns to the stage's default)."
)
@click.option("--owner", metavar="USER", help="Reassign ('' unassigns).")
@click.option("--next-activity", metavar="TEXT")
@click.option("--next-activity-on", metavar="DATE")
def update(deal_id, **options):
    """Change a deal's fields."""
    from .service import update_deal

    changes = {k: v for k, v in options.items() if v is not None}
    if not changes:
        raise click.UsageError("give at least one field to change")
    with get_app().unit_of_work() as uow:
        done = update_deal(uow, deal_id, **changes)
    click.echo(
        f"deal {deal_id}: "
        + (", ".join(f"{k} {v[0]} → {v[1]}" for k, v in done.items()) or "nothing changed")
    )


@deals.command("win")
@click.argument("deal_id", metavar="DEAL")
@click.option("--reason", metavar="REASON", help="Why it was won (crm pipeline reasons list).")
@click.option("--amount", help="The final amount, if it changed.")
@click.option("--note")
def win(deal_id, reason, amount, note):
    """Close a deal as won."""
    from crmcore.api import format_money

    from .service import win_deal

    with get_app().unit_of_work() as uow:
        deal = win_deal(uow, deal_id, reason=reason, amount=amount, note=note)
        click.echo(f"deal {deal.id} won: {format_money(deal.money)}")


@deals.command("lose")
@click.argument("deal_id", metavar="DEAL")
@click.option(
    "--reason", required=True, metavar="REASON", help="Why it was lost (crm pipeline reasons list)."
)
@click.option("--note")
def lose(deal_id, reason, note):
    """Close a deal as lost."""
    from .service import lose_deal

    with get_app().unit_of_work() as uow:
        deal = lose_deal(uow, deal_id, reason=reason, note=note)
        click.echo(f"deal {deal.id} lost: {deal.close_reason.name}")


@deals.command("reopen")
@click.argument("deal_id", metavar="DEAL")
@click.option("--stage", metavar="STAGE", help="Open stage (default: the one it was closed from).")
@click.option("--note")
def reopen(deal_id, stage, note):
    """Reopen a won or lost deal."""
    from .service import reopen_deal

    with get_app().unit_of_work() as uow:
        deal = reopen_deal(uow, deal_id, stage=stage, note=note)
        click.echo(f"deal {deal.id} reopened in {deal.stage.code}")


@deals.command("log")
@click.argument("deal_id", metavar="DEAL")
@click.option(
    "--kind",
    type=click.Choice(["note", "call", "meeting", "email", "message", "visit"]),
    default="note",
    show_default=True,
)
@click.option("--note")
@click.option("--next-activity", metavar="TEXT", help="Plan the next step.")
@click.option("--next-activity-on", metavar="DATE")
def log(deal_id, kind, note, next_activity, next_activity_on):
    """Record an activity on a deal (it keeps the deal from going stale)."""
    from .service import log_activity

    with get_app().unit_of_work() as uow:
        log_activity(
            uow,
            deal_id,
            kind=kind,
            note=note,
            next_activity=next_activity,
            next_activity_on=next_activity_on,
        )
    click.echo(f"{kind} logged on deal {deal_id}")


@deals.command("history")
@click.argument("deal_id", metavar="DEAL")
@click.option("--json", "as_json", is_flag=True)
def history(deal_id, as_json):
    """Stage history and activities of a deal."""
    from .service import deal_activities, deal_history, get_deal, history_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        deal = get_deal(uow, deal_id)
        data = {
            "deal": deal.id,
            "stages": [
                history_to_dict(h, calendar=app.calendar, tz=app.timezone)
                for h in deal_history(uow, deal)
            ],
            "activities": [
                {"at": a.at.isoformat(), "kind": a.kind, "note": a.note, "actor": a.actor}
                for a in deal_activities(uow, deal)
            ],
        }
    if as_json:
        echo_json(data)
        return
    for h in data["stages"]:
        note = f"  {h['note']}" if h["note"] else ""
        click.echo(f"{h['at_local']}  {h['from'] or '·'} → {h['to']}  {h['actor']}{note}")
    for a in data["activities"]:
        click.echo(f"{a['at']}  {a['kind']}  {a['actor']}  {a['note'] or ''}".rstrip())
