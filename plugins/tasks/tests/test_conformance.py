"""The generic plugin contract (crmcore.testing.conformance) for tasks."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "tasks"
