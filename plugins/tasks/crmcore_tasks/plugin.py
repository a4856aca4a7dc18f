"""The manifest of the ``tasks`` plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="tasks",
    version=__version__,
    description="Tasks and appointments per customer: follow-ups, recurrence, reminders, iCalendar export/import",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_tasks.hooks",
    hookspecs="crmcore_tasks.hookspecs",
    models="crmcore_tasks.models",
    cli="crmcore_tasks.cli:tasks",
    cli_help="Follow-ups, appointments, reminders and calendar feeds.",
    migrations="crmcore_tasks.migrations",
    distribution="crmcore-tasks",
)
