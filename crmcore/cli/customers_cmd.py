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
@click.option(
    "--kind", type=click.Choice(["person", "organisation"]), default="person", show_default=True
)
@click.option(
    "--phone", "phones", multiple=True, help="Any format: 0912…, +98…, 0098…, Persian digits."
)
@click.option("--email", "emails", multiple=True)
@click.option("--tag", "tags", multiple=True)
@click.option("--external-id")
@click.option("--birthday", help="Jalali (1370-05-12) or Gregorian (1991-08-03).")
@click.option("--city")
@click.option("--address")
@click.option("--owner", help="The responsible user.")
@click.option("--consent-sms/--no-consent-sms", default=False)
@click.option("--consent-email/--no-consent-email", default=False)
@click.option(
    "--attr",
    "attributes",
    multiple=True,
    metavar="NAME=VALUE",
    help="A custom attribute a plugin declares.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stored record instead of the id.")
def add(
    name,
    kind,
    phones,
    emails,
    tags,
    external_id,
    birthday,
    city,
    address,
    owner,
    consent_sms,
    consent_email,
    attributes,
    as_json,
):
    """Add a customer; prints the new id."""
    from ..services.customers import add_customer, customer_to_dict

    app = get_app()
    with app.unit_of_work() as uow:
        c = add_customer(
            uow,
            name=name,
            kind=kind,
            phones=phones,
            emails=emails,
            tags=tags,
            external_id=external_id,
            birthday=birthday,
            city=city,
            address=address,
            owner=owner,
            consent_sms=consent_sms,
            consent_email=consent_email,
            attributes=_attrs(attributes),
        )
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
def update(
    customer_id,
    name,
    kind,
    add_phone,
    remove_phone,
    add_email,
    remove_email,
    add_tag,
    remove_tag,
    external_id,
    birthday,
    city,
    address,
    owner,
    consent_sms,
    consent_email,
    attributes,
    as_json,
):
    """Change a customer's fields, phones, emails, tags or attributes."""
    from ..services.customers import customer_to_dict, update_customer

    app = get_app()
    with app.unit_of_work() as uow:
        c = update_customer(
            uow,
            customer_id,
            name=name,
            add_phones=add_phone,
            remove_phones=remove_phone,
            add_emails=add_email,
            remove_emails=remove_email,
            add_tags=add_tag,
            remove_tags=remove_tag,
            attributes=_attrs(attributes),
            kind=kind,
            external_id=external_id,
            birthday=birthday,
            city=city,
            address=address,
            owner=owner,
            consent_sms=consent_sms,
            consent_email=consent_email,
        )
        data = customer_to_dict(c, calendar=app.calendar, tz=app.timezone, with_sections=False)
    if as_json:
        echo_json(data)
    else:
        click.echo(f"customer {data['id']} updated")


@customers.command("show")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def show(customer, as_json):
    """Show a customer's 360° profile (id, external id, phone or email), with every plugin's panel.

    The text form shows the plugins' components in the chosen calendar and zone (``--calendar``,
    ``--tz``) and language (``CRM_LANG=fa``); ``--json`` keeps the machine form: each plugin's
    section is
    its panel's ``data`` (or, without it, what its components hold)."""
    from ..formatting import Formatter, money_unit_of
    from ..services.customers import customer_to_dict, resolve_customer
    from ..services.interactions import list_interactions
    from ..services.profile import gather_panels

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        recent = list_interactions(uow.session, c.id, limit=5)
        if as_json:
            data = customer_to_dict(c, calendar=app.calendar, tz=app.timezone, uow=uow)
            data["recent_interactions"] = [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "occurred_at": i.occurred_at.isoformat(),
                    "amount": str(i.money.amount) if i.money else None,
                    "currency": i.currency,
                }
                for i in recent
            ]
            echo_json(data)
            return
        from ..services.customer_view import summary

        data = customer_to_dict(c, calendar=app.calendar, tz=app.timezone, with_sections=False)
        panels = gather_panels(uow, c)
        facts = summary(uow, c)
        fmt = Formatter.for_app(app, money_unit=money_unit_of(uow))
        from ..services.interactions import interaction_details

        _print_profile(data, c, panels, recent, fmt, facts, interaction_details(uow, recent))


_FIELDS = {
    "phones": ("Phones", "تلفن‌ها"),
    "emails": ("Emails", "ایمیل‌ها"),
    "tags": ("Tags", "برچسب‌ها"),
    "external_id": ("External id", "شناسه بیرونی"),
    "birthday": ("Birthday", "تاریخ تولد"),
    "city": ("City", "شهر"),
    "address": ("Address", "نشانی"),
    "owner": ("Owner", "مسئول"),
    "assigned": ("Assigned to", "واگذارشده به"),
    "consent": ("Consent", "رضایت"),
    "created": ("Customer since", "مشتری از"),
    "recent": ("Recent interactions", "تعاملات اخیر"),
}


def _summary_lines(facts, fmt, width: int) -> list:
    """The 360° header's facts as text: a line of figures, a line of badges; a plugin whose values
    cannot be shown is left out (the web page names it)."""
    from .. import ui
    from .panels import renderables

    stats, badges = [], []
    for c in facts:
        try:
            renderables(c.items, fmt, width)
        except Exception:  # noqa: BLE001 - one plugin's bad value must not cost the profile
            continue
        stats += [i for i in c.items if not isinstance(i, ui.Badge)]
        badges += [i for i in c.items if isinstance(i, ui.Badge)]
    return renderables(stats, fmt, width) + renderables(badges, fmt, width)


def _print_profile(data, customer, panels, recent, fmt, facts=(), details=None):
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from ..domain.phones import Phone
    from .panels import panel_renderable

    def label(key):
        en, fa = _FIELDS[key]
        return fa if fmt.persian else en

    def phone(e164):
        try:
            return fmt.digits(Phone(e164).national() if e164.startswith("+98") else e164)
        except Exception:  # noqa: BLE001 - show the stored form
            return e164

    con = console()
    head = Text(data["name"], style="bold")
    head.append(f"  #{fmt.digits(data['id'])}")
    if data["kind"] != "person":
        head.append(f"  ({data['kind']})")
    con.print(head)
    for line in _summary_lines(facts, fmt, con.width):
        con.print(line)
    consent = (
        f"{'SMS' if not fmt.persian else 'پیامک'} {fmt.yes_no(data['consent']['sms'])} · "
        f"{'email' if not fmt.persian else 'ایمیل'} {fmt.yes_no(data['consent']['email'])}"
    )
    rows = [
        ("phones", fmt.join(phone(p["e164"]) for p in data["phones"])),
        ("emails", fmt.join(data["emails"])),
        ("tags", fmt.join(data["tags"])),
        ("external_id", data["external_id"] or ""),
        ("birthday", fmt.date(customer.birthday) if customer.birthday else ""),
        ("city", data["city"] or ""),
        ("address", data["address"] or ""),
        ("owner", data["owner"] or ""),
        (
            "assigned",
            " / ".join(x for x in (data["assigned"]["user"], data["assigned"]["team"]) if x),
        ),
        ("consent", consent),
        ("created", fmt.date(customer.created_at) if customer.created_at else ""),
    ]
    t = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    t.add_column(style="dim", no_wrap=True)
    t.add_column(overflow="fold")
    for k, v in rows:
        if v:
            t.add_row(label(k), v)
    for k, v in data["attributes"].items():
        t.add_row(str(k), fmt.value(v))
    con.print(t)
    for p in panels:
        con.print()
        con.print(panel_renderable(p, fmt, con.width))
    if recent:
        from ..services.interactions import interactions_table
        from .panels import table_renderable

        con.print()
        con.print(Text(label("recent"), style="bold underline"))
        con.print(
            Padding(
                table_renderable(interactions_table(recent, details=details), fmt, con.width - 2),
                (0, 0, 0, 2),
                expand=False,
            )
        )


@customers.command("find")
@click.argument("query", required=False, default="")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FIELD OP VALUE",
    help="Extra condition, e.g. tag=vip, city=تهران, purchases>=3 (plugins add fields: tier=gold).",
)
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def find(query, where, limit, as_json):
    """Find customers by name (Persian-normalised, word prefixes), phone in any format, email or
    external id."""
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
    except (
        Exception
    ):  # missing file or schema, unknown driver: let the full path report it properly
        return None


@customers.command("assign")
@click.argument("customers_", metavar="CUSTOMER...", nargs=-1, required=True)
@click.option("--user", help="The owning user (username); '' clears.")
@click.option("--team", help="The team sharing the customers; '' clears.")
@click.option("--json", "as_json", is_flag=True)
def assign(customers_, user, team, as_json):
    """Give customers (id, external id, phone or email) to a user and/or a team (record rules)."""
    from ..services.access import assign_customer, assignment_of
    from ..services.customers import resolve_customer

    if user is None and team is None:
        raise click.UsageError("give --user and/or --team")
    rows = []
    with get_app().unit_of_work() as uow:
        for ref in customers_:
            c = assign_customer(uow, resolve_customer(uow.session, ref).id, user=user, team=team)
            rows.append({"id": c.id, "name": c.display_name, **assignment_of(uow.session, c)})
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(
            f"customer {r['id']} ({r['name']}): user {r['user'] or '-'}, team {r['team'] or '-'}"
        )


@customers.command("merge")
@click.argument("keep_id")
@click.argument("other_id")
def merge(keep_id, other_id):
    """Merge OTHER_ID into KEEP_ID (interactions, contacts, tags and plugin data move to
    KEEP_ID)."""
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

    if not yes and not click.confirm(
        f"Erase all personal data of customer {customer_id}?", default=False
    ):
        raise click.exceptions.Exit(1)
    with get_app().unit_of_work() as uow:
        forget_customer(uow, customer_id)
    click.echo(f"customer {customer_id} forgotten")


# bulk import, export and duplicates (crmcore.importing)
from .export_cmd import duplicates as _duplicates  # noqa: E402
from .export_cmd import export_customers as _export_customers
from .import_cmd import import_customers as _import_customers  # noqa: E402

customers.add_command(_import_customers, "import")
customers.add_command(_export_customers, "export")
customers.add_command(_duplicates, "duplicates")

from .leads_cmd import leads as _leads  # noqa: E402

customers.add_command(_leads, "leads")
