import click

from .context import echo_json, get_app


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was migrated as JSON.")
def init(as_json):
    """Create or upgrade the schema of the kernel and every enabled plugin.

    Plugins installed since the last run are enabled when what they require is installed too.
    """
    app = get_app()
    done = app.init()
    if as_json:
        echo_json(
            {"database": app.engine.url.render_as_string(hide_password=True), "migrated": done}
        )
    else:
        click.echo(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")
        click.echo(f"schema up to date for: {', '.join(done)}")
