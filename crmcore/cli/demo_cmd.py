import click

from .. import ui
from ..domain.money import Money
from ..formatting import EMPTY, Formatter, cli_language
from .output import json_option, output, table


@click.command()
@click.option(
    "--path",
    default="crm-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file to create (replaced if it exists).",
)
@click.option("--customers", default=60, show_default=True, type=click.IntRange(1, 100000))
@click.option("--seed", default=1403, show_default=True, type=int)
@json_option
def demo(path, customers, seed, as_json):
    """Build a demo database of a Persian sample business, with every installed plugin, and summarise it."""
    from ..demo import build_demo

    result = build_demo(path, seed=seed, customers=customers)
    output(result, as_json, text=_summary, fmt=Formatter.for_language(cli_language()))


def _summary(result, fmt: Formatter):
    """The demo for people, in the reader's language: the plugins' lines, the customers and the
    last six Jalali months of sales in tomans."""
    from rich.rule import Rule

    money = fmt.with_unit("toman")
    s = result["summary"]
    totals = s["totals"]
    kinds = fmt.join(f"{k}: {fmt.number(v)}" for k, v in s["rows"])
    db = result["database"]
    parts = [
        Rule("crmcore demo"),
        fmt.pick(f"database: {db}", f"پایگاه داده: {db}"),
        fmt.pick(
            f"try: crm --db sqlite:///{db} customers find 'علی'",
            f"امتحان کنید: crm --db sqlite:///{db} customers find 'علی'",
        ),
        fmt.pick("plugins enabled: ", "افزونه‌های فعال: ")
        + (fmt.join(result["plugins"]) or fmt.pick("none (kernel only)", "هیچ (فقط هسته)")),
        *[f"  • {line}" for line in result["lines"]],
        fmt.pick(
            f"customers: {fmt.number(totals['customers'])}, "
            f"interactions: {fmt.number(totals['interactions'])} ({kinds})",
            f"مشتریان: {fmt.number(totals['customers'])}، "
            f"تعامل‌ها: {fmt.number(totals['interactions'])} ({kinds})",
        ),
    ]
    rows = [
        {"month": row[0], "purchases": row[2], "amount": Money(int(row[3]), "IRR")}
        for row in result["sales"]["rows"][-6:]
    ]
    parts.append(
        table(
            rows,
            [
                ui.Column("month", ui.Label("Month (Jalali)", "ماه"), "text"),
                ui.Column("purchases", ui.Label("Purchases", "خرید"), "number"),
                ui.Column("amount", ui.Label("Amount", "مبلغ"), "money"),
            ],
            money,
            title=fmt.pick("Sales by month", "فروش ماه به ماه"),
        )
    )
    q = result["search"]
    found = fmt.join(f"#{fmt.number(i)} {n}" for i, n in q["results"]) or EMPTY
    parts.append(
        fmt.pick(
            f"search «{q['query']}» (typed with Arabic letters) finds: {found}",
            f"جستجوی «{q['query']}» (با حروف عربی) پیدا می‌کند: {found}",
        )
    )
    return parts
