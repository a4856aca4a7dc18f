"""The generic plugin contract (crmcore.testing.conformance) for messaging."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "messaging"
