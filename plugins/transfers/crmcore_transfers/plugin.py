"""The manifest of the transfers plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="transfers",
    version=__version__,
    description="Member-to-member point transfers: family groups, approved recipients, limits, fees, expiry",
    requires=("loyalty",),
    kernel=">=0.1,<0.2",
    hooks="crmcore_transfers.hooks",
    hookspecs="crmcore_transfers.hookspecs",
    models="crmcore_transfers.models",
    cli="crmcore_transfers.cli:transfers",
    cli_help="Member-to-member point transfers (انتقال امتیاز).",
    migrations="crmcore_transfers.migrations",
    distribution="crmcore-transfers",
)
