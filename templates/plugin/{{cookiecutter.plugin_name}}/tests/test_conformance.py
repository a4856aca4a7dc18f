"""The generic plugin contract (crmcore.testing.conformance): declared customer data, known
hooks, migrations down and up, the demo seed, --json of every read command."""
from crmcore.testing.conformance import PluginConformance


class TestConformance(PluginConformance):
    plugin = "{{ cookiecutter.plugin_name }}"
