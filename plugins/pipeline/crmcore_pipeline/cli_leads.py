"""``crm pipeline leads …``: add, list, show, convert to a deal, disqualify."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app


@click.group()
def leads():
    """Leads: unqualified prospects with their source, converted to deals."""


@leads.command("add")
@click.option("--title", required=True, help="What they want (e.g. «خرید عمده زعفران»).")
@click.option(
    "--source",
    required=True,
    metavar="SOURCE",
    help="website, referral, exhibition, phone, social, campaign… (crm pipeline sources list)",
)
@click.option("--name", "contact_name", help="Contact person.")
@click.option("--phone")
@click.option("--email")
@click.option("--company")
@click.option(
    "--customer", metavar="CUSTOMER", help="An existing customer (id, external id, phone or email)."
)
@click.option("--owner", metavar="USER", help="Sales rep (default: next by round-robin).")
@click.option(
    "--no-round-robin", is_flag=True, help="Leave it unassigned when --owner is not given."
)
@click.option("--note")
@click.option("--json", "as_json", is_flag=True, help="Print the new lead as JSON.")
def add(
    title,
    source,
    contact_name,
    phone,
    email,
    company,
    customer,
    owner,
    no_round_robin,
    note,
    as_json,
):
    """Record a lead."""
    from .service import create_lead, lead_to_dict

    with get_app().unit_of_work() as uow:
        lead = create_lead(
            uow,
            title=title,
            source=source,
            contact_name=contact_name,
            phone=phone,
            email=email,
            company=company,
            customer=customer,
            owner=owner,
            round_robin=not no_round_robin,
            note=note,
        )
        data = lead_to_dict(uow, lead)
    if as_json:
        echo_json(data)
    else:
        click.echo(
            f"lead {data['id']} added"
            + (f", owner {data['owner']}" if data["owner"] else ", unassigned")
        )


@leads.command("list")
@click.option(
    "--status",
    type=click.Choice(["new", "converted", "disqualified", "all"]),
    default="new",
    show_default=True,
)
@click.option("--source", metavar="SOURCE")
@click.option("--owner", metavar="USER")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(status, source, owner, as_json):
    """Leads, by status, source or owner."""
    from .service import lead_to_dict, list_leads

    with get_app().unit_of_work() as uow:
        items = [
            lead_to_dict(uow, lead)
            for lead in list_leads(uow, status=status, source=source, owner=owner)
        ]
    if as_json:
        echo_json(items)
        return
    from rich.table import Table

    from .cli_show import console

    if not items:
        click.echo("no leads")
        return
    table = Table("id", "title", "contact", "phone", "source", "owner", "status", "deal")
    for lead in items:
        table.add_row(
            str(lead["id"]),
            lead["title"],
            lead["contact_name"] or lead["company"] or "",
            lead["phone"] or "",
            lead["source_name"],
            lead["owner"] or "",
            lead["status"],
            str(lead["deal_id"] or ""),
        )
    console().print(table)


@leads.command("show")
@click.argument("lead_id", metavar="LEAD")
@click.option("--json", "as_json", is_flag=True)
def show(lead_id, as_json):
    """One lead."""
    from .service import get_lead, lead_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        data = lead_to_dict(uow, get_lead(uow, lead_id))
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        if value not in (None, ""):
            click.echo(f"{key}: {value}")


@leads.command("convert")
@click.argument("lead_id", metavar="LEAD")
@click.option(
    "--customer",
    metavar="CUSTOMER",
    help="Attach to this customer (default: the lead's, one with its "
    "phone or email, else a new one).",
)
@click.option("--title", help="Deal title (default: the lead's).")
@click.option("--amount")
@click.option("--currency", default="IRR", show_default=True)
@click.option("--expected-close", metavar="DATE", help="Jalali (1403-08-15) or Gregorian.")
@click.option("--pipeline", "pipeline_ref", metavar="CODE")
@click.option("--stage", metavar="STAGE")
@click.option("--probability", metavar="PERCENT")
@click.option("--owner", metavar="USER", help="Default: the lead's owner, else round-robin.")
@click.option("--json", "as_json", is_flag=True, help="Print the new deal as JSON.")
def convert(
    lead_id,
    customer,
    title,
    amount,
    currency,
    expected_close,
    pipeline_ref,
    stage,
    probability,
    owner,
    as_json,
):
    """Convert a lead into a deal (creating the customer when needed)."""
    from .service import convert_lead, deal_to_dict

    app = get_app()
    with app.unit_of_work() as uow:
        lead, deal, created = convert_lead(
            uow,
            lead_id,
            customer=customer,
            title=title,
            amount=amount,
            currency=currency,
            expected_close=expected_close,
            pipeline=pipeline_ref,
            stage=stage,
            probability=probability,
            owner=owner,
        )
        data = deal_to_dict(deal, calendar=app.calendar, tz=app.timezone)
    if as_json:
        echo_json({**data, "customer_created": created})
    else:
        click.echo(
            f"lead {lead.id} converted: deal {deal.id} for customer {deal.customer_id}"
            + (" (new customer)" if created else "")
        )


@leads.command("disqualify")
@click.argument("lead_id", metavar="LEAD")
@click.option("--reason", required=True)
def disqualify(lead_id, reason):
    """Close a lead that will not become a deal."""
    from .service import disqualify_lead

    with get_app().unit_of_work() as uow:
        disqualify_lead(uow, lead_id, reason=reason)
    click.echo(f"lead {lead_id} disqualified")
