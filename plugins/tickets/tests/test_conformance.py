"""The generic plugin contract (crmcore.testing.conformance) for tickets."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "tickets"
