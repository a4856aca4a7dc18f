"""The manifest of the tiers plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="tiers",
    version=__version__,
    description="Membership tiers: qualification windows, earning multipliers, benefits, downgrades",
    requires=("loyalty",),
    kernel=">=0.1,<0.2",
    hooks="crmcore_tiers.hooks",
    hookspecs="crmcore_tiers.hookspecs",
    models="crmcore_tiers.models",
    cli="crmcore_tiers.cli:tiers",
    cli_help="Membership tiers (Red/Silver/Gold): ladder, evaluation, history.",
    migrations="crmcore_tiers.migrations",
    distribution="crmcore-tiers",
)
