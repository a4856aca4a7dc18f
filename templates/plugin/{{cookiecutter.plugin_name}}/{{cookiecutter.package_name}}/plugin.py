"""The manifest crmcore discovers through the ``crmcore.plugins`` entry point (keep this module light)."""
from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="{{ cookiecutter.plugin_name }}",
    version=__version__,
    description="{{ cookiecutter.description }}",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="{{ cookiecutter.package_name }}.hooks",
{%- if cookiecutter.has_tables == "yes" %}
    models="{{ cookiecutter.package_name }}.models",
    migrations="{{ cookiecutter.package_name }}.migrations",
{%- endif %}
    cli="{{ cookiecutter.package_name }}.cli:{{ cookiecutter.plugin_name }}",
    cli_help="{{ cookiecutter.description }}",
    distribution="{{ cookiecutter.distribution }}",
)
