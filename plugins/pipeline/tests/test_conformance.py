"""The generic plugin contract (crmcore.testing.conformance) for pipeline."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "pipeline"
