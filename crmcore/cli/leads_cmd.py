"""``crm customers leads``: lead-form submissions that matched a stored customer, waiting for a
person."""

from __future__ import annotations

import click

from .context import console, echo_json, get_app


@click.group("leads")
def leads():
    """Lead-form submissions whose phone or email matched a customer: accept (add their contacts and
    message to the customer) or reject (drop). The public form never changes a customer by itself.
    """


@leads.command("list")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_(limit, as_json):
    """The submissions waiting for a decision, oldest first, beside the customer each matched."""
    from ..services.leads import lead_to_dict, pending_leads

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [
            lead_to_dict(uow.session, lead, calendar=app.calendar, tz=app.timezone)
            for lead in pending_leads(uow.session, limit=limit)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no pending leads")
        return
    con = console()
    for r in rows:
        c = r["customer"]
        given = ", ".join(x for x in (r["phone"], r["email"]) if x)
        has = ", ".join(c["phones"] + c["emails"]) or "no contacts"
        for line in (
            f"#{r['id']}  {r['received']}  {r['name']} — {given}",
            f"  matches customer #{c['id']} {c['name']} by {r['matched_by']} (has: {has})",
            *([f"  {r['message']}"] if r["message"] else []),
        ):
            con.print(line, markup=False, highlight=False)
    click.echo(f"{len(rows)} pending; crm customers leads accept ID | reject ID")


@leads.command("accept")
@click.argument("lead_id")
def accept(lead_id):
    """Add the submission's phone, email and message to the customer it matched."""
    from ..services.leads import accept_lead

    with get_app().unit_of_work() as uow:
        customer = accept_lead(uow, lead_id)
        click.echo(f"lead {lead_id} accepted into customer #{customer.id} {customer.display_name}")


@leads.command("reject")
@click.argument("lead_id")
def reject(lead_id):
    """Drop the submission; the customer stays as it was."""
    from ..services.leads import reject_lead

    with get_app().unit_of_work() as uow:
        reject_lead(uow, lead_id)
    click.echo(f"lead {lead_id} rejected")
