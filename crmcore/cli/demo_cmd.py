import click

from .context import console, echo_json


@click.command()
@click.option("--path", default="crm-demo.db", show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file to create (replaced if it exists).")
@click.option("--customers", default=60, show_default=True, type=click.IntRange(1, 100000))
@click.option("--seed", default=1403, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
def demo(path, customers, seed, as_json):
    """Build a demo database of a Persian sample business, with every installed plugin, and summarise it."""
    from ..demo import build_demo
    from ..domain.money import Money, format_money

    result = build_demo(path, seed=seed, customers=customers)
    if as_json:
        echo_json(result)
        return
    from rich.table import Table

    con = console()
    con.rule("[bold]crmcore demo[/bold]")
    con.print(f"database: {result['database']}  (try: crm --db sqlite:///{result['database']} customers find 'علی')")
    con.print(f"plugins enabled: {', '.join(result['plugins']) or 'none (kernel only)'}")
    for line in result["lines"]:
        con.print(f"  • {line}", markup=False)
    s = result["summary"]
    con.print(f"customers: {s['totals']['customers']}, interactions: {s['totals']['interactions']} "
              f"({', '.join(f'{k}: {v}' for k, v in s['rows'])})")
    table = Table("ماه (Jalali month)", "purchases", "amount (toman)", title="sales.by_period")
    for row in result["sales"]["rows"][-6:]:
        table.add_row(row[0], str(row[2]), format_money(Money(int(row[3]), "IRR"), unit="toman", persian_digits=True))
    con.print(table)
    q = result["search"]
    con.print(f"search {q['query']!r} (Arabic letters) finds: " + ", ".join(f"#{i} {n}" for i, n in q["results"]))
