"""crmcore.storage.jsoncodec: orjson's speed with exactly json's meaning."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.storage.jsoncodec import dumps, loads

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_reads_back_as_json_would(value):
    assert loads(dumps(value)) == json.loads(json.dumps(value)) == value


class Colour(str, enum.Enum):
    RED = "red"


def test_same_as_json_for_keys_and_subclasses():
    assert loads(dumps({1: "a", "b": [Colour.RED]})) == json.loads(
        json.dumps({1: "a", "b": [Colour.RED]})
    )
    assert dumps({"name": "علی"}) == '{"name":"علی"}'  # readable Persian, compact


@pytest.mark.parametrize(
    "bad",
    [date(2026, 1, 1), datetime(2026, 1, 1, tzinfo=timezone.utc), Decimal("1.5"), object(), {1, 2}],
)
def test_refuses_what_json_refuses(bad):
    with pytest.raises(TypeError):
        json.dumps({"x": bad})
    with pytest.raises(TypeError):
        dumps({"x": bad})


def test_big_integers_stay_exact():
    assert loads(dumps({"rials": 10**25})) == {"rials": 10**25}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinities_are_refused_not_stored_as_null(bad):
    for value in ({"score": bad}, [1, [None, bad]], {"a": {"b": (bad,)}}, {10**25: bad}):
        with pytest.raises(ValueError, match="NaN or infinite"):
            dumps(value)
    assert dumps({"score": 1.5, "none": None}) == '{"score":1.5,"none":null}'
