import click

from .context import console, echo_json, get_app


@click.group()
def plugins():
    """List, inspect, enable and disable plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_plugins(as_json):
    """Installed plugins with version, state, requirements and the hooks each implements."""
    from ..services.plugins import describe_plugins

    items = describe_plugins(get_app())
    if as_json:
        echo_json(items)
        return
    if not items:
        click.echo("no plugins installed (pip install crmcore-<name>)")
        return
    from rich.table import Table

    table = Table("plugin", "version", "state", "requires", "hooks")
    for p in items:
        table.add_row(p["name"], p["version"], "enabled" if p["enabled"] else "disabled",
                      ", ".join(p["requires"]) or "-", str(len(p["hooks"])))
    console().print(table)


@plugins.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def info(name, as_json):
    """Everything about one plugin: version, state, requirements, hooks implemented and declared."""
    from ..errors import PluginError
    from ..services.plugins import describe_plugins

    items = {p["name"]: p for p in describe_plugins(get_app())}
    if name not in items:
        raise PluginError(f"unknown plugin {name!r} (installed: {', '.join(items) or 'none'})")
    p = items[name]
    if as_json:
        echo_json(p)
        return
    click.echo(f"{p['name']} {p['version']} ({'enabled' if p['enabled'] else 'disabled'}) — {p['description']}")
    click.echo(f"distribution: {p['distribution']}; kernel: {p['kernel']}"
               f"{'' if p['compatible'] else ' (INCOMPATIBLE with this kernel)'}")
    click.echo(f"requires: {', '.join(p['requires']) or 'nothing'}")
    click.echo(f"implements: {', '.join(p['hooks']) or 'no hooks'}")
    if p["hookspecs"]:
        click.echo(f"declares: {', '.join(p['hookspecs'])}")


@plugins.command("enable")
@click.argument("name")
def enable(name):
    """Enable a plugin and migrate its tables (its requirements must be enabled first)."""
    from ..services.plugins import enable_plugin

    done = enable_plugin(get_app(), name)
    click.echo(f"plugin {name} enabled" if done else f"plugin {name} was already enabled")


@plugins.command("disable")
@click.argument("name")
def disable(name):
    """Disable a plugin (its data stays; refused while another enabled plugin requires it)."""
    from ..services.plugins import disable_plugin

    disable_plugin(get_app(), name)
    click.echo(f"plugin {name} disabled")
