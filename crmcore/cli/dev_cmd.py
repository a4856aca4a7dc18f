import click


@click.group()
def dev():
    """Developer tools: the hook reference, plugin migrations."""


@dev.command("hooks-doc")
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Write to this file (default: stdout)."
)
@click.option("--check", is_flag=True, help="Exit 1 if --output is not current.")
def hooks_doc(output, check):
    """Generate the hook reference (docs/hooks.md) from the hook-spec docstrings."""
    from ..docs import hooks_markdown

    text = hooks_markdown()
    if check:
        current = open(output, encoding="utf-8").read() if output else ""
        if current != text:
            raise click.ClickException(
                f"{output} is out of date; run: crm dev hooks-doc --output {output}"
            )
        click.echo(f"{output} is current")
        return
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@dev.command("revision")
@click.argument("plugin")
@click.option("-m", "--message", required=True)
@click.option("--rev-id", help="Revision id (default: random).")
def revision(plugin, message, rev_id):
    """Autogenerate a migration for PLUGIN's tables (use 'kernel' for the kernel) against a scratch database."""
    from ..storage.revision import autogenerate_revision

    path = autogenerate_revision(plugin, message, rev_id=rev_id)
    click.echo(f"wrote {path}" if path else "no changes detected")
