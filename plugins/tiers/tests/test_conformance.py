"""The generic plugin contract (crmcore.testing.conformance) for tiers."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "tiers"
