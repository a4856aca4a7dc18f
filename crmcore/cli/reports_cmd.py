import click

from .context import console, echo_json, get_app


@click.group()
def reports():
    """List and run reports."""


@reports.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_reports(as_json):
    """Every report of the kernel and the enabled plugins."""
    from ..reports import report_registry

    with get_app().unit_of_work(readonly=True) as uow:
        items = [
            {"name": r.name, "title": r.title, "title_fa": r.title_fa, "description": r.description}
            for r in report_registry(uow).values()
        ]
    if as_json:
        echo_json(items)
        return
    for r in items:
        click.echo(f"{r['name']}\t{r['title']}")


@reports.command("run")
@click.argument("name")
@click.option("--from", "start", help="First day (Jalali or Gregorian).")
@click.option("--to", "end", help="Last day, included.")
@click.option(
    "--period",
    type=click.Choice(["day", "week", "month", "jalali_month", "year", "jalali_year"]),
    default="month",
    show_default=True,
)
@click.option(
    "--calendar", type=click.Choice(["gregorian", "jalali"]), help="Calendar of period labels."
)
@click.option(
    "--option", "options", multiple=True, metavar="NAME=VALUE", help="A report-specific option."
)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write rows to a CSV file.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="With --csv: values exactly as stored, for programs. Without it, text a "
    "spreadsheet program would run as a formula gets a leading ' ; a raw file must "
    "not be opened in a spreadsheet program.",
)
def run(name, start, end, period, calendar, options, as_json, csv_path, raw):
    """Run report NAME."""
    from ..domain.dates import parse_date
    from ..reports import ReportParams, run_report

    app = get_app()
    opts = {}
    for item in options:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--option")
        k, v = item.split("=", 1)
        opts[k] = v
    params = ReportParams(
        start=parse_date(start, field="from") if start else None,
        end=parse_date(end, field="to") if end else None,
        calendar=calendar or app.calendar,
        period=period,
        timezone=app.timezone,
        options=opts,
    )
    with app.unit_of_work(readonly=True) as uow:
        result = run_report(uow, name, params)
    if csv_path:
        from ..reports import write_csv

        with open(csv_path, "w", newline="", encoding="utf-8-sig") as fh:
            write_csv(fh, result, totals=False, raw=raw)
    if as_json:
        echo_json(result)
        return
    if csv_path:
        click.echo(f"{len(result['rows'])} rows written to {csv_path}")
        return
    from rich.table import Table

    from ..formatting import Formatter
    from ..reports.display import label_of, totals_lines

    fmt = Formatter.for_app(app)
    from .. import ui
    from .panels import table_renderable

    # the report's rows as a table of the UI contract: columns when they fit, one block per row
    # when not
    rows = ui.Table(
        columns=[ui.Column(str(i), c.replace("_", " ")) for i, c in enumerate(result["columns"])],
        rows=[{str(i): fmt.loose(v) for i, v in enumerate(row)} for row in result["rows"]],
        title=name,
    )
    con = console()
    con.print(table_renderable(rows, fmt, con.width))
    lines = totals_lines(result["totals"], fmt)
    if lines:
        totals = Table(
            show_header=False, box=None, padding=(0, 2, 0, 0), title="totals", title_justify="left"
        )
        totals.add_column(style="dim", overflow="fold")
        totals.add_column(justify="right", no_wrap=True)
        for path, shown in lines:
            totals.add_row(label_of(path), shown)
        con.print(totals)
