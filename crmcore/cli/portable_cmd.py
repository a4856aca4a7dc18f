"""``crm export all DIR`` and ``crm import all DIR`` (see :mod:`crmcore.storage.portable`)."""

from __future__ import annotations

import click

from .context import echo_json, get_app


@click.group("export")
def export():
    """Write the whole database to files (`crm customers export` writes customers for
    spreadsheets)."""


@export.command("all")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def export_all(directory, as_json):
    """Write every kernel and plugin table to DIRECTORY as JSON lines (one file per table, and a
    manifest), from one consistent moment; `crm import all` loads it into an empty database."""
    from ..storage.portable import export_all as run

    result = run(get_app(), directory)
    if as_json:
        echo_json(
            {"directory": result.directory, "tables": result.tables, "seconds": result.seconds}
        )
        return
    click.echo(
        f"exported {sum(result.tables.values()):,} rows of {len(result.tables)} tables to "
        f"{result.directory} in {result.seconds:.1f} s"
    )


@click.group("import")
def import_():
    """Load files written by `crm export` (`crm customers import` reads customer spreadsheets)."""


@import_.command("all")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
def import_all(directory, as_json):
    """Load an export written by `crm export all` into an empty database (--db), creating its
    schema, then run the plugins' checks (exit 1 if one finds a problem)."""
    from ..storage.portable import import_all as run

    result = run(get_app(), directory)
    if as_json:
        echo_json(
            {
                "directory": result.directory,
                "tables": result.tables,
                "checks": result.checks,
                "ok": result.ok,
                "seconds": result.seconds,
            }
        )
    else:
        for plugin, problems in result.checks.items():
            for problem in problems:
                click.echo(f"{plugin}: {problem}", err=True)
        click.echo(
            f"imported {sum(result.tables.values()):,} rows of {len(result.tables)} tables from "
            f"{result.directory} in {result.seconds:.1f} s"
            + ("" if result.ok else "; CHECKS FAILED")
        )
    if not result.ok:
        raise click.exceptions.Exit(1)
