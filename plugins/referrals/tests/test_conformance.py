"""The generic plugin contract (crmcore.testing.conformance) for referrals."""

from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "referrals"
