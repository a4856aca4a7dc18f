import click

from .context import console, echo_json, get_app
from .output import fields, json_option, output


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

    from ..batches import BATCH_FORMS

    import_hooks = set(BATCH_FORMS) | set(BATCH_FORMS.values())
    table = Table("plugin", "version", "state", "requires", "hooks", "imports")
    for p in items:
        path = (
            "slow: per row"
            if p["per_row_import_hooks"]
            else "batch"
            if import_hooks & set(p["hooks"])
            else "-"
        )
        table.add_row(
            p["name"],
            p["version"],
            "enabled" if p["enabled"] else "disabled",
            ", ".join(p["requires"]) or "-",
            str(len(p["hooks"])),
            path,
        )
    console().print(table)
    slow = [p for p in items if p["per_row_import_hooks"]]
    if slow:  # imports load full records and call these row by row: several times slower
        click.echo("slow: per row — imports call it once per row (no batch form of):")
        for p in slow:
            click.echo(f"  {p['name']}: {', '.join(p['per_row_import_hooks'])}")


@plugins.command("info")
@click.argument("name")
@json_option
def info(name, as_json):
    """Everything about one plugin: version, state, requirements, hooks implemented and declared."""
    from ..errors import PluginError
    from ..services.plugins import describe_plugins

    items = {p["name"]: p for p in describe_plugins(get_app())}
    if name not in items:
        raise PluginError(f"unknown plugin {name!r} (installed: {', '.join(items) or 'none'})")
    p = items[name]

    def shown(p, fmt):
        state = "enabled" if p["enabled"] else "disabled"
        kernel = p["kernel"] + ("" if p["compatible"] else " (INCOMPATIBLE with this kernel)")
        facts = {
            "plugin": f"{p['name']} {p['version']} ({state})",
            "about": p["description"],
            "distribution": p["distribution"],
            "kernel": kernel,
            "requires": p["requires"] or "nothing",
            # one hook a line: a comma-joined list is a few hundred columns
            "implements": "\n".join(p["hooks"]) or "no hooks",
        }
        if p["per_row_import_hooks"]:
            facts["imports"] = (
                f"slow path, per row for {fmt.join(p['per_row_import_hooks'])} (no batch form)"
            )
        if p["hookspecs"]:
            facts["declares"] = "\n".join(p["hookspecs"])
        return fields(facts, fmt)

    output(p, as_json, text=shown)


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


@plugins.command("new")
@click.argument("name")
@click.option(
    "--output-dir",
    default="plugins",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the new distribution's folder is created.",
)
@click.option("--description", help="One line saying what the plugin does.")
@click.option("--author")
@click.option(
    "--events",
    help="Kernel events to handle, comma-separated (customer_created,interaction_recorded…).",
)
@click.option(
    "--tables/--no-tables",
    default=True,
    show_default=True,
    help="Whether the plugin stores tables.",
)
@click.option(
    "--no-input", is_flag=True, help="Do not ask; use the options and the template's defaults."
)
@click.option(
    "--template",
    type=click.Path(exists=True, file_okay=False),
    help="The cookiecutter template (default: templates/plugin of this checkout).",
)
def new(name, output_dir, description, author, events, tables, no_input, template):
    """Scaffold a new plugin distribution NAME from the cookiecutter template."""
    from pathlib import Path

    from ..errors import ValidationError

    try:
        from cookiecutter.exceptions import FailedHookException
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise ValidationError(
            "the plugin template needs cookiecutter: pip install cookiecutter"
        ) from None
    if template is None:
        template = Path(__file__).resolve().parents[2] / "templates" / "plugin"
        if not template.is_dir():
            raise ValidationError("no templates/plugin here; pass --template PATH_OR_URL")
    import re

    # the template's pre-generation hook checks the same, for people running cookiecutter directly
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", name):
        raise ValidationError(
            f"plugin name {name!r} must be lower case letters, digits and _ "
            "(2-31 characters, starting with a letter)",
            field="name",
        )
    known = {
        "customer_created",
        "customer_updated",
        "customers_merged",
        "customer_forgotten",
        "interaction_recorded",
    }
    unknown = [e.strip() for e in (events or "").split(",") if e.strip() and e.strip() not in known]
    if unknown:
        raise ValidationError(
            f"unknown kernel event(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}",
            field="events",
        )
    context = {"plugin_name": name, "has_tables": "yes" if tables else "no"}
    if description:
        context["description"] = description
    if author:
        context["author"] = author
    if events is not None:
        context["handles_events"] = events
    try:
        path = cookiecutter(
            str(template), no_input=no_input, extra_context=context, output_dir=output_dir
        )
    except FailedHookException as exc:
        raise ValidationError(f"the template refused these answers: {exc}") from None
    click.echo(f"created {path}")
    click.echo(f"next: pip install -e {path} && crm init && crm plugins info {name}")
