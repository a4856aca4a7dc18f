"""The generic plugin contract (crmcore.testing.conformance) for transfers."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "transfers"
