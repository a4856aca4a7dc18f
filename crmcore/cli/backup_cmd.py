"""``crm backup PATH`` and ``crm restore PATH`` (see :mod:`crmcore.storage.backup`)."""

from __future__ import annotations

import click

from .context import echo_json, get_app


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def backup(path, as_json):
    """Write a consistent backup of the database to PATH while it is in use (PATH.manifest.json
    beside it).

    SQLite: one self-contained database file (everything committed, also what is still in the -wal
    file). PostgreSQL: a pg_dump archive in custom format of the CRM's schema. Schedule it from
    cron.
    """
    from ..storage.backup import backup as run

    result = run(get_app(), path)
    if as_json:
        echo_json(
            {
                "path": result.path,
                "manifest": result.manifest,
                "dialect": result.dialect,
                "bytes": result.bytes,
                "seconds": result.seconds,
                "tables": result.tables,
            }
        )
        return
    rows = sum(result.tables.values())
    click.echo(
        f"backed up {rows:,} rows in {len(result.tables)} tables to {result.path} "
        f"({result.bytes:,} bytes, {result.seconds:.1f} s); manifest {result.manifest}"
    )


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification as JSON.")
def restore(path, yes, as_json):
    """Replace the database with the backup at PATH, then verify it: integrity, the rows of every
    table against the manifest, and the plugins' own checks (the loyalty ledger…). Exit 1 if any
    check fails.

    Stop `crm web`, the workers and the relay first: they would keep working on the old data.
    """
    from ..storage.backup import check_backup
    from ..storage.backup import restore as run

    app = get_app()
    check_backup(app, path)  # a wrong or damaged file is refused before the question
    if not yes and not click.confirm(
        f"Replace every row of {app.engine.url.render_as_string()} with the backup {path}?",
        default=False,
        err=True,
    ):
        raise click.exceptions.Exit(1)
    report = run(app, path)
    if as_json:
        echo_json(
            {
                "path": report.path,
                "ok": report.ok,
                "integrity": report.integrity,
                "tables": {
                    t: {"expected": e, "restored": r} for t, (e, r) in report.tables.items()
                },
                "checks": report.checks,
                "seconds": report.seconds,
            }
        )
    else:
        for problem in report.integrity:
            click.echo(f"integrity: {problem}", err=True)
        for table, (expected, restored) in report.mismatched.items():
            click.echo(
                f"table {table}: {restored:,} rows restored, the backup had {expected:,}", err=True
            )
        for plugin, problems in report.checks.items():
            for problem in problems:
                click.echo(f"{plugin}: {problem}", err=True)
        rows = sum(r for _e, r in report.tables.values())
        checks = ", ".join(report.checks) or "none"
        verdict = "verified" if report.ok else "VERIFICATION FAILED"
        click.echo(
            f"restored {rows:,} rows in {len(report.tables)} tables from {report.path} in "
            f"{report.seconds:.1f} s: {verdict} (integrity, row counts, checks of: {checks})"
        )
    if not report.ok:
        raise click.exceptions.Exit(1)
