"""``crm customers import`` and ``crm interactions import``."""

from __future__ import annotations

import click

from .context import get_app
from .import_progress import import_progress, print_summary


def _say(message: str) -> None:
    click.echo(message, err=True)


def _file_options(fn):
    for option in reversed(
        [
            click.option(
                "--dry-run", is_flag=True, help="Check and count everything, store nothing."
            ),
            click.option(
                "--errors",
                "errors_path",
                type=click.Path(dir_okay=False, writable=True),
                help="Write rejected rows (row number, field, reason, original values) to this CSV.",
            ),
            click.option(
                "--mapping",
                multiple=True,
                metavar="COLUMN=FIELD",
                help="Map a column by hand (repeatable); FIELD 'ignore' drops the column.",
            ),
            click.option(
                "--encoding",
                help="CSV encoding (default: detected — UTF-8 with or without BOM, UTF-16, "
                "Windows-1256).",
            ),
            click.option(
                "--delimiter", help="CSV delimiter (default: detected — , ; tab | or spaces)."
            ),
            click.option("--sheet", help="XLSX sheet name (default: the first)."),
            click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
            click.option(
                "--progress/--no-progress",
                default=None,
                help="Progress bar (default: when on a terminal).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--on-duplicate",
    type=click.Choice(["merge", "skip", "update"]),
    default="merge",
    show_default=True,
    help="A row sharing a phone, email or customer code with a customer: merge fills empty fields and adds "
    "phones/emails/tags; update overwrites with the file's values; skip leaves it alone.",
)
@_file_options
def import_customers(
    file, on_duplicate, dry_run, errors_path, mapping, encoding, delimiter, sheet, as_json, progress
):
    """Import customers from a CSV or XLSX FILE (English or Persian headers).

    Invalid rows are rejected whole (exit code 1, see --errors); the others are imported, committed
    a chunk at a time. Run again on the same file, an interrupted import goes on after its last
    committed row.
    """
    from ..importing import import_customers as run

    with import_progress(progress, "customers") as (on_open, tick):
        summary = run(
            get_app(),
            file,
            on_duplicate=on_duplicate,
            dry_run=dry_run,
            mapping=mapping,
            errors_path=errors_path,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            progress=tick,
            on_open=on_open,
            on_wait=_say,
        )
    print_summary(summary, as_json)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--create-customers", is_flag=True, help="Create customers the file names but the CRM lacks."
)
@click.option("--kind", help="Kind for rows without one (purchase, refund, call, visit…).")
@click.option("--currency", help="Currency for rows without one (IRR default; TOMAN is IRR × 10).")
@click.option("--unit", type=click.Choice(["rial", "toman"]), help="IRR amounts are in this unit.")
@click.option("--channel", help="Channel for rows without one.")
@click.option(
    "--history",
    is_flag=True,
    help="The rows are past events: plugins react as of each row's date and no customer "
    "message is sent for them (the summary counts what was held back).",
)
@click.option(
    "--history-days",
    type=click.IntRange(0),
    metavar="DAYS",
    help="Rows older than DAYS days are history, newer ones current events (default: the "
    "kernel setting import.history_days, if set).",
)
@_file_options
def import_interactions(
    file,
    create_customers,
    kind,
    currency,
    unit,
    channel,
    history,
    history_days,
    dry_run,
    errors_path,
    mapping,
    encoding,
    delimiter,
    sheet,
    as_json,
    progress,
):
    """Import an interaction history (customer, kind, occurred_at, amount, currency, channel, external_id; other
    columns go into the payload) from a CSV or XLSX FILE. Each row is announced like a live recording, in time
    order per customer. Run again on the same file, an interrupted import goes on after its last
    committed row."""
    from ..importing import import_interactions as run

    with import_progress(progress, "interactions") as (on_open, tick):
        summary = run(
            get_app(),
            file,
            create_customers=create_customers,
            dry_run=dry_run,
            mapping=mapping,
            errors_path=errors_path,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            kind=kind,
            currency=currency,
            unit=unit,
            channel=channel,
            progress=tick,
            on_open=on_open,
            on_wait=_say,
            history=history,
            history_days=history_days,
        )
    print_summary(summary, as_json)
