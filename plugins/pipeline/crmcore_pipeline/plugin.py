"""The manifest of the pipeline plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="pipeline",
    version=__version__,
    description="Leads, deals, pipelines and stages, round-robin assignment, forecasts and funnel reports",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_pipeline.hooks",
    hookspecs="crmcore_pipeline.hookspecs",
    models="crmcore_pipeline.models",
    cli="crmcore_pipeline.cli:pipeline",
    cli_help="Sales pipeline: leads, deals, stages, board, targets.",
    migrations="crmcore_pipeline.migrations",
    distribution="crmcore-pipeline",
)
