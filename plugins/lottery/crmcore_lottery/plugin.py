"""The manifest of the lottery plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="lottery",
    version=__version__,
    description="Raffles: entries from purchases, points and lottery cards; auditable commit-reveal draws",
    requires=(),
    uses=("loyalty",),  # points-bought entries need loyalty; the rest works without
    kernel=">=0.1,<0.2",
    hooks="crmcore_lottery.hooks",
    hookspecs="crmcore_lottery.hookspecs",
    models="crmcore_lottery.models",
    cli="crmcore_lottery.cli:lottery",
    cli_help="Raffles (قرعه‌کشی): campaigns, entries, lottery cards, verifiable draws, winners.",
    migrations="crmcore_lottery.migrations",
    distribution="crmcore-lottery",
)
