import json

import click

from .context import echo_json, get_app


@click.group()
def interactions():
    """Record and list interactions (purchases, refunds, calls, messages, visits, notes…)."""


@interactions.command("record")
@click.argument("customer")
@click.option(
    "--kind",
    required=True,
    help="purchase, refund, call, message, visit, note, or a plugin's kind.",
)
@click.option("--channel", help="store, web, phone, sms, email…")
@click.option("--direction", type=click.Choice(["in", "out"]))
@click.option("--amount", help="Exact amount (1250000, ۱٬۲۵۰٬۰۰۰, 12.50).")
@click.option("--currency", default=None, help="ISO code (IRR default; TOMAN is read as IRR × 10).")
@click.option(
    "--at", "occurred_at", help="When (ISO 8601 or Jalali '1403-07-15 14:30'); default now."
)
@click.option(
    "--external-id", help="Your system's id: the same (kind, id) is never recorded twice."
)
@click.option(
    "--related",
    "related_id",
    type=int,
    help="The interaction this refers to (the purchase a refund reverses).",
)
@click.option("--payload", help="JSON object with extra data (lines, SKUs, notes…).")
@click.option("--json", "as_json", is_flag=True)
def record(
    customer,
    kind,
    channel,
    direction,
    amount,
    currency,
    occurred_at,
    external_id,
    related_id,
    payload,
    as_json,
):
    """Record an interaction for CUSTOMER (id, external id, phone or email); prints its id."""
    from ..errors import ValidationError
    from ..services.customers import resolve_customer
    from ..services.interactions import interaction_to_dict, record_interaction

    data = None
    if payload:
        try:
            data = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"the payload is not JSON: {exc.msg} at character {exc.pos}", field="payload"
            ) from None
    app = get_app()
    with app.unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        i = record_interaction(
            uow,
            c,
            kind=kind,
            channel=channel,
            direction=direction,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            external_id=external_id,
            related_id=related_id,
            payload=data,
        )
        out = interaction_to_dict(i, calendar=app.calendar, tz=app.timezone)
    if as_json:
        echo_json(out)
    else:
        click.echo(out["id"])


@interactions.command("list")
@click.argument("customer")
@click.option("--kind")
@click.option("--limit", type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True)
def list_cmd(customer, kind, limit, as_json):
    """A customer's interactions, newest first."""
    from ..domain.dates import format_datetime
    from ..formatting import cli_language
    from ..services.customers import resolve_customer
    from ..services.interactions import interaction_details, interaction_to_dict, list_interactions
    from ..ui import text_of

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        items = list_interactions(uow.session, c.id, kind=kind, limit=limit)
        rows = [interaction_to_dict(i, calendar=app.calendar, tz=app.timezone) for i in items]
        shown = [format_datetime(i.occurred_at, app.calendar, tz=app.timezone) for i in items]
        details = interaction_details(uow, items) if not as_json else {}
    if as_json:
        echo_json(rows)
        return
    lang = cli_language()
    for r, when in zip(rows, shown):
        amount = f"\t{r['amount']} {r['currency']}" if r["amount"] else ""
        said = text_of(details.get(r["id"]), lang)
        click.echo(
            f"{r['id']}\t{when}\t{r['kind']}\t{r['channel'] or ''}{amount}"
            + (f"\t{said}" if said else "")
        )


# bulk import of histories (crmcore.importing)
from .import_cmd import import_interactions as _import_interactions  # noqa: E402

interactions.add_command(_import_interactions, "import")
