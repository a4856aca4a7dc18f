"""The generic plugin contract (crmcore.testing.conformance) for voip."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "voip"
