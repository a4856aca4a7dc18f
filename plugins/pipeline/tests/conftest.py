import pytest


@pytest.fixture
def crm_plugins():
    return ["pipeline"]
