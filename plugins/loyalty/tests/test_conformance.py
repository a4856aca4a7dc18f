"""The generic plugin contract (crmcore.testing.conformance) for loyalty."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "loyalty"
