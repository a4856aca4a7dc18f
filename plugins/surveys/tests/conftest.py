import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from surveys_test_helpers import new_customer  # noqa: E402


@pytest.fixture
def crm_plugins():
    return ["surveys"]


@pytest.fixture
def customer(crm_app):
    """A customer who consented to SMS and email."""
    return new_customer(crm_app, "مریم رضایی", phone="09121234567", email="maryam@example.ir")
