"""The JSON encoding of every JSON column (payloads, attributes, outbox events, audit changes).

Encoding uses orjson, about ten times faster than :mod:`json`, which matters when an import writes three
JSON values per row. It is kept exactly as strict as :mod:`json`: dates, decimals or other objects in a payload
are refused (``TypeError``), not silently turned into strings; integers beyond 64 bits and non-string keys,
which orjson refuses but :mod:`json` accepts, fall back to :mod:`json`. Text is stored as UTF-8 (Persian
stays readable in the database instead of ``\\uXXXX`` escapes); both encodings read back the same. One
difference is left: a float NaN or infinity becomes ``null`` (:mod:`json` would write ``NaN``, which is not
JSON and which PostgreSQL refuses); amounts are never floats in crmcore.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_refuse, option=_OPTIONS).decode()
    except orjson.JSONEncodeError as exc:
        if isinstance(exc.__cause__, TypeError) or "not JSON serializable" in str(exc):
            raise TypeError(str(exc)) from None
        return json.dumps(value, ensure_ascii=False)  # int beyond 64 bits, non-str keys: json's behaviour


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
