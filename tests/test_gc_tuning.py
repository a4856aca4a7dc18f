import gc

import pytest

from crmcore.gc_tuning import fewer_collections


def test_threshold_raised_inside_and_restored_after():
    before = gc.get_threshold()
    with fewer_collections(young=123_456):
        assert gc.get_threshold() == (123_456, *before[1:])
    assert gc.get_threshold() == before


def test_restored_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with fewer_collections():
            raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_never_lowers_a_higher_threshold():
    before = gc.get_threshold()
    gc.set_threshold(200_000, *before[1:])
    try:
        with fewer_collections(young=1_000):
            assert gc.get_threshold()[0] == 200_000
    finally:
        gc.set_threshold(*before)
