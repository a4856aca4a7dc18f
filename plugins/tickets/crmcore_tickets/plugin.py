"""The manifest of the tickets plugin (cheap to import: no models, no SQLAlchemy)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="tickets",
    version=__version__,
    description="Support tickets, SLA policies on business hours, CSAT after close, email to ticket",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_tickets.hooks",
    hookspecs="crmcore_tickets.hookspecs",
    models="crmcore_tickets.models",
    cli="crmcore_tickets.cli:tickets",
    cli_help="Support tickets: open, reply, assign, close; SLA and CSAT.",
    migrations="crmcore_tickets.migrations",
    distribution="crmcore-tickets",
)
