"""A rich progress bar (rows, rows/s, elapsed) on stderr for long imports, and the summary table."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import click


@contextmanager
def import_progress(enabled: bool | None, label: str):
    """Yields ``(on_open, progress)`` callbacks for the importers (both ``None`` when disabled)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None, None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    state: dict = {}

    def on_open(table) -> None:
        state["task"] = bar.add_task(label, total=table.size or None, rows=0, rate=0.0)
        state["start"] = time.perf_counter()

    def progress(rows: int, position: int) -> None:
        elapsed = max(time.perf_counter() - state["start"], 1e-9)
        bar.update(state["task"], completed=position, rows=rows, rate=rows / elapsed)

    with bar:
        yield on_open, progress


def print_summary(summary, as_json: bool) -> None:
    """The summary as JSON or as a table, the first rejected rows, and the exit code (1 if any
    rejected). What the file gave (column names, values quoted in reasons and notes) is shown with
    its control characters escaped: a terminal would obey them."""
    from ..domain.text import printable
    from .context import console, echo_json

    if as_json:
        echo_json(summary.to_dict())
    else:
        from rich.markup import escape
        from rich.table import Table

        con = console()
        title = (
            f"{summary.what} import{' (dry run: nothing stored)' if summary.dry_run else ''}: "
            f"{escape(printable(summary.file))}"
        )
        t = Table(title=title, show_header=False)
        for key, value in summary.counts():
            t.add_row(key.replace("_", " "), f"{value:,}")
        t.add_row("rows/s", f"{summary.rows_per_second:,.0f}")
        con.print(t)
        if summary.resumed_after is not None:
            click.echo(
                f"resumed import #{summary.import_id}: rows up to {summary.resumed_after:,} "
                "were imported by its interrupted run (counted above)"
            )
        if summary.ignored_columns:
            click.echo(
                f"ignored columns: {printable(', '.join(summary.ignored_columns))} "
                "(map them with --mapping COLUMN=FIELD)"
            )
        for r in summary.rejections[:10]:
            click.echo(printable(f"row {r.row}: {r.field + ': ' if r.field else ''}{r.reason}"))
        if summary.rejected > 10:
            click.echo(f"… and {summary.rejected - 10:,} more rejected rows")
        if summary.rejected:
            click.echo(
                f"rejected rows are in {printable(summary.errors_file)}"
                if summary.errors_file
                else "give --errors FILE.csv to get every rejected row with its reason"
            )
        for note in summary.notes[:10]:
            click.echo(printable(note))
        if len(summary.notes) > 10:
            click.echo(f"… {len(summary.notes) - 10} more notes (--json lists them)")
        if summary.suppressed:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.suppressed.items()))
            click.echo(f"history: customer messages not sent: {kinds}")
        if summary.possible_duplicates:
            click.echo(
                f"{summary.possible_duplicates} groups of possible duplicates by name (crm customers duplicates)"
            )
    if summary.rejected:
        raise click.exceptions.Exit(1)
