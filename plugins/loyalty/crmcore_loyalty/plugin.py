"""The manifest of the loyalty plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="loyalty",
    version=__version__,
    description="Points ledger, earning rules, rewards, expiry",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_loyalty.hooks",
    hookspecs="crmcore_loyalty.hookspecs",
    models="crmcore_loyalty.models",
    cli="crmcore_loyalty.cli:loyalty",
    cli_help="Customer club points, rewards and vouchers.",
    migrations="crmcore_loyalty.migrations",
    distribution="crmcore-loyalty",
)
