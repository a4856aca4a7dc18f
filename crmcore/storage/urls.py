"""Database URLs, without importing SQLAlchemy (the CLI's fast paths use this)."""

from __future__ import annotations

import os

DEFAULT_URL = "sqlite:///crm.db"


def resolve_url(url: str | None) -> str:
    """``--db`` wins, then ``CRM_DATABASE_URL``, then ``sqlite:///crm.db`` in the working directory."""
    url = url or os.environ.get("CRM_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
