"""The manifest of the surveys plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="surveys",
    version=__version__,
    description="NPS/CSAT/CES surveys triggered by events, with sampling, fatigue control and detractor follow-up",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_surveys.hooks",
    hookspecs="crmcore_surveys.hookspecs",
    models="crmcore_surveys.models",
    cli="crmcore_surveys.cli:surveys",
    cli_help="Satisfaction surveys (NPS, CSAT, CES): create, invite, answer, results.",
    migrations="crmcore_surveys.migrations",
    distribution="crmcore-surveys",
)
