"""The root ``crm`` group: global options, lazy kernel and plugin subcommands, error handling."""

from __future__ import annotations

import importlib
import sys

import click

from .context import CLIState, get_app

KERNEL_COMMANDS = {
    "init": (
        "crmcore.cli.init_cmd:init",
        "Create or upgrade the schema of the kernel and enabled plugins.",
    ),
    "plugins": ("crmcore.cli.plugins_cmd:plugins", "List, inspect, enable and disable plugins."),
    "customers": (
        "crmcore.cli.customers_cmd:customers",
        "Add, show, find, update, merge and forget customers.",
    ),
    "interactions": (
        "crmcore.cli.interactions_cmd:interactions",
        "Record and list purchases, calls, visits…",
    ),
    "reports": ("crmcore.cli.reports_cmd:reports", "List and run reports (JSON, CSV, tables)."),
    "jobs": ("crmcore.cli.jobs_cmd:jobs", "Run scheduled jobs (cron-friendly)."),
    "integrations": (
        "crmcore.cli.integrations_cmd:integrations",
        "Live integrations (SMS gateways, calendars…): list, test, status.",
    ),
    "demo": (
        "crmcore.cli.demo_cmd:demo",
        "Build a demo database of a Persian sample business and summarise it.",
    ),
    "dev": ("crmcore.cli.dev_cmd:dev", "Developer tools: hook reference, plugin migrations."),
    "worker": (
        "crmcore.cli.worker_cmd:worker",
        "Run a background worker (async hooks, handed-off jobs).",
    ),
    "outbox": (
        "crmcore.cli.worker_cmd:outbox",
        "Relay domain events to the message broker; show the backlog.",
    ),
    "web": ("crmcore.cli.web_cmd:web", "Serve the HTTP API and the web interface."),
    "users": (
        "crmcore.cli.web_cmd:users",
        "Users of the web interface: roles, permissions, API tokens.",
    ),
    "backup": ("crmcore.cli.backup_cmd:backup", "Back up the database while it is in use."),
    "restore": ("crmcore.cli.backup_cmd:restore", "Restore a backup and verify it."),
    "export": ("crmcore.cli.portable_cmd:export", "Write every table to JSON lines (export all)."),
    "import": ("crmcore.cli.portable_cmd:import_", "Load an export into an empty database."),
}


def _load(target: str):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class CRMGroup(click.Group):
    """Loads subcommands only when used, so ``crm --help`` stays fast with many plugins installed."""

    def _plugin_manifests(self):
        from ..plugin_host import installed_manifests

        return {(m.cli_name or m.name): m for m in installed_manifests().values() if m.cli}

    def list_commands(self, ctx):
        return sorted(set(KERNEL_COMMANDS) | set(self._plugin_manifests()))

    def get_command(self, ctx, name):
        if name in KERNEL_COMMANDS:
            return _load(KERNEL_COMMANDS[name][0])
        manifest = self._plugin_manifests().get(name)
        if manifest is None:
            from ..plugin_host import broken_plugins

            broken = broken_plugins().get(name)
            if broken is not None:  # its command group is the plugin's own: it cannot be loaded
                raise click.ClickException(broken)
            return None
        group = _load(manifest.cli)
        return _guard_enabled(group, manifest.name)

    def format_commands(self, ctx, formatter):
        rows = [(n, h) for n, (_t, h) in KERNEL_COMMANDS.items()]
        for name, m in self._plugin_manifests().items():
            rows.append((name, m.cli_help or m.description))
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))

    def invoke(self, ctx):
        """Every command's failures that a user can cause end here as one line on stderr (exit 1)
        (:mod:`.errors`); a plugin that cannot be imported is named in one line first."""
        from ..plugin_host import broken_plugins
        from .errors import user_message

        for message in broken_plugins().values():
            click.echo(f"warning: {message}", err=True)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            message = user_message(exc, ctx.obj)
            if message is None:
                raise
            raise click.ClickException(message) from exc


def _asks_help(ctx: click.Context) -> bool:
    """Whether the rest of the command line asks for a subcommand's help
    (``crm loyalty earn -h``)."""
    protected = getattr(ctx, "_protected_args", None) or []
    rest = [*protected, *ctx.args]
    names = ctx.help_option_names or ["--help"]
    return any(arg in names for arg in rest if isinstance(arg, str))


def _guard_enabled(group: click.Command, plugin: str) -> click.Command:
    if getattr(group, "_crm_guarded", False):
        return group
    original = group.invoke

    def invoke(ctx):
        if _asks_help(ctx):  # help needs no database: none is opened (or created) for it
            return original(ctx)
        app = get_app(ctx)
        if not app.plugins.is_enabled(plugin):
            raise click.ClickException(
                f"plugin {plugin!r} is installed but not enabled; run: crm plugins enable {plugin}"
            )
        return original(ctx)

    group.invoke = invoke
    group._crm_guarded = True
    return group


@click.group(cls=CRMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="CRM_DATABASE_URL",
    metavar="URL",
    help="Database URL (default: $CRM_DATABASE_URL, else sqlite:///crm.db).",
)
@click.option(
    "--calendar",
    type=click.Choice(["gregorian", "jalali"]),
    envvar="CRM_CALENDAR",
    help="Calendar for dates shown (default gregorian; $CRM_CALENDAR).",
)
@click.option(
    "--timezone",
    "tz",
    envvar="CRM_TIMEZONE",
    metavar="ZONE",
    help="Time zone for dates shown and read (default Asia/Tehran; $CRM_TIMEZONE).",
)
@click.version_option(package_name="crmcore", prog_name="crm")
@click.pass_context
def cli(ctx, db, calendar, tz):
    """crmcore: customers, interactions and the business modules you installed."""
    ctx.obj = CLIState(db, calendar, tz)


def main() -> None:
    cli(prog_name="crm")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
