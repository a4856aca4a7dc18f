"""The generic plugin contract (crmcore.testing.conformance) for lottery."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "lottery"
