"""The JSON encoding of every JSON column (payloads, attributes, outbox events, audit changes).

Encoding uses orjson, about ten times faster than :mod:`json`, which matters when an import writes three
JSON values per row. It is kept exactly as strict as :mod:`json`: dates, decimals or other objects in a payload
are refused (``TypeError``), not silently turned into strings; integers beyond 64 bits and non-string keys,
which orjson refuses but :mod:`json` accepts, fall back to :mod:`json`. Text is stored as UTF-8 (Persian
stays readable in the database instead of ``\\uXXXX`` escapes); both encodings read back the same. A float
NaN or infinity is refused (``ValueError``): orjson would store ``null`` in its place and :mod:`json` would
write ``NaN``, which is not JSON and which PostgreSQL refuses; amounts are never floats in crmcore.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    try:
        text = orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if isinstance(exc.__cause__, TypeError) or "not JSON serializable" in str(exc):
            raise TypeError(str(exc)) from None
        try:  # int beyond 64 bits, non-str keys: json's behaviour
            return json.dumps(value, ensure_ascii=False, allow_nan=False)
        except ValueError:
            if _non_finite(value):
                raise _not_finite(value) from None
            raise
    if b"null" in text and _non_finite(value):  # orjson writes null for NaN and infinities
        raise _not_finite(value)
    return text.decode()


def _not_finite(value: Any) -> ValueError:
    return ValueError(f"a NaN or infinite number cannot be stored as JSON: {value!r}")


#: the values that cannot hide a NaN (checked by exact type: the walk below runs for every payload with a null)
_PLAIN = frozenset({str, int, bool, type(None)})


def _non_finite(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind in _PLAIN:
        return False
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, float):
        return not math.isfinite(value)
    else:
        return False
    for item in items:
        if type(item) not in _PLAIN and _non_finite(item):
            return True
    return False


def loads(text: str | bytes) -> Any:
    """Decoding stays :mod:`json` (orjson turns integers beyond 64 bits into floats, losing exactness, and
    raises ``ValueError`` where SQLAlchemy's SQLite JSON type expects ``TypeError`` for numeric cells)."""
    return json.loads(text)


def plain_value(value: Any) -> Any:
    """The JSON form of the values commands print and jobs summarise (a ``default=`` for :func:`json.dumps`):
    dates and moments as ISO text, decimals as exact text, sets and tuples as arrays; anything else is a
    ``TypeError``."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
