"""The generic plugin contract (crmcore.testing.conformance) for surveys."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "surveys"
