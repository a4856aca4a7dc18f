import pytest


@pytest.fixture
def crm_plugins():
    """The plugins crmcore.testing's crm_app enables for these tests."""
    return ["{{ cookiecutter.plugin_name }}"]
