"""Search for the web's instant results: the kernel's search (:mod:`crmcore.services.search_plan`) on the
unit of work's own pooled connection."""
from __future__ import annotations

from typing import Any

from ..services.search import search_customers


def instant_search(uow, query: str, limit: int = 20, cursor: str | None = None) -> list[dict[str, Any]]:
    return search_customers(uow, query, limit=limit, cursor=cursor).results
