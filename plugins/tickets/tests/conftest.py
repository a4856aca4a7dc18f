import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tickets_reference (the minute-by-minute oracle)


@pytest.fixture
def crm_plugins():
    return ["tickets"]
