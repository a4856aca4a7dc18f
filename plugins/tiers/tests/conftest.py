import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tiers_helpers


@pytest.fixture
def crm_plugins(request):
    marker = request.node.get_closest_marker("crm_plugins")
    return list(marker.args) if marker else ["loyalty", "tiers"]
