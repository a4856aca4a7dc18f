import json

import click

from .context import console, echo_json, get_app


@click.group()
def customers():
    """Add, show, find, update, merge and forget customers."""


def _attrs(values):
    out = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--attr")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


@customers.command("add")
@click.option("--name", required=True, help="Display name, as typed (Persian or English).")
@click.option("--kind", type=click.Choice(["person", "organisation"]), default="person", show_default=True)
@click.option("--phone", "phones", multiple=True, help="Any format: 0912…, +98…, 0098…, Persian digits.")
@click.option("--email", "emails", multiple=True)
@click.option("--tag", "tags", multiple=True)
@click.option("--external-id")
@click.option("--birthday", help="Jalali (1370-05-12) or Gregorian (1991-08-03).")
@click.option("--city")
@click.option("--address")
@click.option("--owner", help="The responsible user.")
@click.option("--consent-sms/--no-consent-sms", default=False)
@click.option("--consent-email/--no-consent-email", default=False)
@click.option("--attr", "attributes", multiple=True, metavar="NAME=VALUE", help="A custom attribute a plugin declares.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored record instead of the id.")
def add(name, kind, phones, emails, tags, external_id, birthday, city, address, owner, consent_sms, consent_email,
        attributes, as_json):
    """Add a customer; prints the new id."""
    from ..services.customers import add_customer, customer_to_dict

    app = get_app()
    with app.unit_of_work() as uow:
        c = add_customer(uow, name=name, kind=kind, phones=phones, emails=emails, tags=tags, external_id=external_id,
                         birthday=birthday, city=city, address=address, owner=owner, consent_sms=consent_sms,
                         consent_email=consent_email, attributes=_attrs(attributes))
        data = customer_to_dict(c, calendar=app.calendar, tz=app.timezone, with_sections=False)
    if as_json:
        echo_json(data)
    else:
        click.echo(data["id"])


@customers.command("update")
@click.argument("customer_id")
@click.option("--name")
@click.option("--kind", type=click.Choice(["person", "organisation"]))
@click.option("--add-phone", multiple=True)
@click.option("--remove-phone", multiple=True)
@click.option("--add-email", multiple=True)
@click.option("--remove-email", multiple=True)
@click.option("--add-tag", multiple=True)
@click.option("--remove-tag", multiple=True)
@click.option("--external-id")
@click.option("--birthday")
@click.option("--city")
@click.option("--address")
@click.option("--owner")
@click.option("--consent-sms", type=click.BOOL)
@click.option("--consent-email", type=click.BOOL)
@click.option("--attr", "attributes", multiple=True, metavar="NAME=VALUE")
@click.option("--json", "as_json", is_flag=True)
def update(customer_id, name, kind, add_phone, remove_phone, add_email, remove_email, add_tag, remove_tag,
           external_id, birthday, city, address, owner, consent_sms, consent_email, attributes, as_json):
    """Change a customer's fields, phones, emails, tags or attributes."""
    from ..services.customers import customer_to_dict, update_customer

    app = get_app()
    with app.unit_of_work() as uow:
        c = update_customer(uow, customer_id, name=name, add_phones=add_phone, remove_phones=remove_phone,
                            add_emails=add_email, remove_emails=remove_email, add_tags=add_tag, remove_tags=remove_tag,
                            attributes=_attrs(attributes), kind=kind, external_id=external_id, birthday=birthday,
                            city=city, address=address, owner=owner, consent_sms=consent_sms,
                            consent_email=consent_email)
        data = customer_to_dict(c, calendar=app.calendar, tz=app.timezone, with_sections=False)
    if as_json:
        echo_json(data)
    else:
        click.echo(f"customer {data['id']} updated")


@customers.command("show")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def show(customer, as_json):
    """Show a customer's 360° profile (id, external id, phone or email), with every plugin's section."""
    from ..services.customers import customer_to_dict, resolve_customer
    from ..services.interactions import list_interactions

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        data = customer_to_dict(c, calendar=app.calendar, tz=app.timezone, uow=uow)
        recent = list_interactions(uow.session, c.id, limit=5)
        data["recent_interactions"] = [
            {"id": i.id, "kind": i.kind, "occurred_at": i.occurred_at.isoformat(),
             "amount": str(i.money.amount) if i.money else None, "currency": i.currency} for i in recent]
    if as_json:
        echo_json(data)
        return
    _print_profile(data, app)


def _print_profile(data, app):
    from rich.table import Table

    from ..domain.dates import format_date, parse_date

    con = console()
    con.print(f"[bold]{data['name']}[/bold]  #{data['id']}  ({data['kind']})")
    rows = [("phones", ", ".join(p["e164"] for p in data["phones"])), ("emails", ", ".join(data["emails"])),
            ("tags", ", ".join(data["tags"])), ("external id", data["external_id"] or ""),
            ("birthday", format_date(parse_date(data["birthday"]), app.calendar) if data["birthday"] else ""),
            ("city", data["city"] or ""), ("owner", data["owner"] or ""),
            ("consent", f"sms={'yes' if data['consent']['sms'] else 'no'} email={'yes' if data['consent']['email'] else 'no'}")]
    for k, v in data["attributes"].items():
        rows.append((k, str(v)))
    t = Table(show_header=False, box=None)
    for k, v in rows:
        if v:
            t.add_row(k, v)
    con.print(t)
    for key, section in data.get("sections", {}).items():
        con.print(f"[bold]{key}[/bold]: " + json.dumps(section, ensure_ascii=False, default=str))
    if data["recent_interactions"]:
        con.print("[bold]recent[/bold]")
        for i in data["recent_interactions"]:
            amount = f" {i['amount']} {i['currency']}" if i["amount"] else ""
            con.print(f"  {i['occurred_at'][:16]}  {i['kind']}{amount}")


@customers.command("find")
@click.argument("query", required=False, default="")
@click.option("--where", "where", multiple=True, metavar="FIELD OP VALUE",
              help="Extra condition, e.g. tag=vip, city=تهران, purchases>=3 (plugins add fields: tier=gold).")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def find(query, where, limit, as_json):
    """Find customers by name (Persian-normalised, word prefixes), phone in any format, email or external id."""
    results = None if where else _quick_find(query, limit)
    if results is None:
        from ..services.search import search_customers

        with get_app().unit_of_work(readonly=True) as uow:
            results = search_customers(uow, query, where=list(where), limit=limit).results
    if as_json:
        echo_json(results)
        return
    if not results:
        click.echo("no customers found")
        return
    for r in results:
        click.echo(f"{r['id']}\t{r['name']}\t{', '.join(r['phones'])}\t{', '.join(r['emails'])}")


def _quick_find(query, limit):
    """The start-up-fast path (no SQLAlchemy import); None when it cannot answer (the full path then
    answers, or explains what is wrong with the database)."""
    from ..services.quickfind import quick_find
    from ..storage.urls import resolve_url
    from .context import CLIState

    state = click.get_current_context().find_object(CLIState)
    try:
        return quick_find(resolve_url(state.db if state else None), query, limit)
    except Exception:  # missing file or schema, unknown driver: let the full path report it properly
        return None


@customers.command("merge")
@click.argument("keep_id")
@click.argument("other_id")
def merge(keep_id, other_id):
    """Merge OTHER_ID into KEEP_ID (interactions, contacts, tags and plugin data move to KEEP_ID)."""
    from ..services.customers import merge_customers

    with get_app().unit_of_work() as uow:
        kept = merge_customers(uow, keep_id, other_id)
    click.echo(f"customer {other_id} merged into {kept.id}")


@customers.command("forget")
@click.argument("customer_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget(customer_id, yes):
    """Erase a customer's personal data (the right to be forgotten); anonymised aggregates stay."""
    from ..services.customers import forget_customer

    if not yes and not click.confirm(f"Erase all personal data of customer {customer_id}?", default=False):
        raise click.exceptions.Exit(1)
    with get_app().unit_of_work() as uow:
        forget_customer(uow, customer_id)
    click.echo(f"customer {customer_id} forgotten")


# bulk import, export and duplicates (crmcore.importing)
from .export_cmd import duplicates as _duplicates, export_customers as _export_customers  # noqa: E402
from .import_cmd import import_customers as _import_customers  # noqa: E402

customers.add_command(_import_customers, "import")
customers.add_command(_export_customers, "export")
customers.add_command(_duplicates, "duplicates")
