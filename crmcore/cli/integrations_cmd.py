"""``crm integrations``: the live integrations plugins contribute (SMS gateways, calendars, mailboxes…)."""

from __future__ import annotations

import textwrap

import click

from .context import echo_json, get_app


@click.group()
def integrations():
    """Live integrations of the enabled plugins: list them, test their connection, see their status.
    Secrets are shown only as env:NAME (or ***), never their values."""


@integrations.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json):
    """Every configured integration with its settings (secrets hidden)."""
    from ..integrations import integration_registry, to_dict

    items = [to_dict(i) for i in integration_registry(get_app()).values()]
    if as_json:
        echo_json(items)
        return
    if not items:
        click.echo("no integrations are configured")
    for item in items:
        click.echo(f"{item['name']} ({item['kind']})")
        click.echo(f"    {item['summary']}")
        for key, value in item["settings"].items():
            click.echo(f"    {key}: {value}")


@integrations.command("test")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
def test_cmd(names, as_json):
    """Make a read-only call to each integration (or the NAMES given). Exit 1 if any fails."""
    from ..integrations import integration_registry, pick, run_test

    results = [run_test(i) for i in pick(integration_registry(get_app()), list(names))]
    if as_json:
        echo_json(results)
    else:
        if not results:
            click.echo("no integrations are configured")
        for r in results:
            click.echo(f"{r['name']}: {'ok' if r['ok'] else 'FAILED'}")
            click.echo(
                textwrap.fill(
                    r["detail"],
                    width=78,
                    initial_indent="    ",
                    subsequent_indent="    ",
                    break_long_words=False,
                )
            )
    if any(not r["ok"] for r in results):
        raise click.exceptions.Exit(1)


@integrations.command("status")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
def status_cmd(names, as_json):
    """Recent activity of each integration (or the NAMES given)."""
    from ..integrations import integration_registry, pick

    app = get_app()
    chosen = pick(integration_registry(app), list(names))
    with app.unit_of_work(readonly=True) as uow:
        results = [{"name": i.name, "kind": i.kind, **i.status(uow)} for i in chosen]
    if as_json:
        echo_json(results)
        return
    if not results:
        click.echo("no integrations are configured")
    for r in results:
        # a no-break space inside each "name value" pair: lines wrap between pairs only
        details = ", ".join(
            f"{k.replace('_', ' ')}\u00a0{v}"
            for k, v in r.items()
            if k not in ("name", "kind", "days")
        )
        if "days" in r:
            details = f"last {r['days']} days: {details}"
        click.echo(f"{r['name']} ({r['kind']})")
        click.echo(
            textwrap.fill(
                details, width=78, initial_indent="    ", subsequent_indent="    "
            ).replace("\u00a0", " ")
        )
