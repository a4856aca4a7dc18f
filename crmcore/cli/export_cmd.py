"""``crm customers export`` and ``crm customers duplicates``."""

from __future__ import annotations

import click

from .context import console, echo_json, get_app


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--persian-headers", is_flag=True, help="Persian column names and values (کد مشتری، تلفن…)."
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FIELD OP VALUE",
    help="Only these customers (tag=vip…).",
)
@click.option(
    "--encoding",
    default="utf-8-sig",
    show_default=True,
    help="CSV encoding (cp1256 for old Excel).",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Write values exactly as stored, for programs. Without it, text a spreadsheet "
    "program would run as a formula (starting with =, +, -, @) gets a leading ' ; "
    "a raw file must not be opened in Excel or LibreOffice (a customer named "
    "=HYPERLINK(…) becomes a live link).",
)
@click.option(
    "--as",
    "as_user",
    metavar="USERNAME",
    help="Only the customers this user may read (record rules).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def export_customers(file, persian_headers, where, encoding, raw, as_user, as_json):
    """Write active customers to FILE (.csv or .xlsx) in the form `crm customers import` reads back."""
    from ..importing import export_customers as run
    from ..services.access import viewer_for

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        if as_user:
            uow.viewer = viewer_for(uow.session, as_user)
        count = run(
            uow,
            file,
            persian=persian_headers,
            calendar=app.calendar,
            where=where,
            encoding=encoding,
            raw=raw,
        )
    if as_json:
        echo_json({"file": file, "customers": count})
    else:
        click.echo(f"{count} customers written to {file}")


@click.command("duplicates")
@click.option(
    "--merge",
    is_flag=True,
    help="Merge customers sharing a phone or email into the oldest one (names alone are never merged).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100000),
    default=200,
    show_default=True,
    help="Groups to list.",
)
@click.option("--json", "as_json", is_flag=True)
def duplicates(merge, limit, as_json):
    """List probable duplicates: customers sharing a phone or email (certain), or with the same normalised name
    and the same city or birthday (possible; merge those by hand with `crm customers merge KEEP OTHER`)."""
    from ..importing import find_duplicates, merge_certain_duplicates

    app = get_app()
    if merge:
        with app.unit_of_work() as uow:
            merged = merge_certain_duplicates(uow)
        if as_json:
            echo_json({"merged": merged})
        else:
            for m in merged:
                click.echo(f"customer {m['kept']} kept; merged {', '.join(map(str, m['merged']))}")
            click.echo(f"{len(merged)} groups merged")
        return
    with app.unit_of_work(readonly=True) as uow:
        groups = find_duplicates(uow, limit=limit)
    if as_json:
        echo_json(groups)
        return
    if not groups:
        click.echo("no probable duplicates")
        return
    con = console()
    for g in groups:
        label = {
            "phone": "same phone",
            "email": "same email",
            "name_city": "same name and city",
            "name_birthday": "same name and birthday",
        }[g["match"]]
        sure = "certain" if g["certain"] else "possible"
        con.print(f"[bold]{sure}[/bold] — {label}: {g['value']}")
        for c in g["customers"]:
            extra = ", ".join(x for x in (c["city"], c["birthday"], c["external_id"]) if x)
            con.print(
                f"  #{c['id']}  {c['name']}" + (f"  ({extra})" if extra else ""), markup=False
            )
