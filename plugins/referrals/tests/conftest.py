import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # referrals_helpers, parallel_worker


@pytest.fixture
def crm_plugins(request):
    """The plugins crmcore.testing's crm_app enables: a ``crm_plugins`` marker, else loyalty and
    referrals."""
    marker = request.node.get_closest_marker("crm_plugins")
    return list(marker.args) if marker else ["loyalty", "referrals"]
