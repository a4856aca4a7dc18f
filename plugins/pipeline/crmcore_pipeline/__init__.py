"""crmcore-pipeline: leads, deals, pipelines and stages, forecasts and funnel reports."""

__version__ = "0.1.0"
