"""Search for the web's instant results and the customer list: the kernel's search
(:mod:`crmcore.services.search_plan`) on the unit of work's own pooled connection, a page at a time.
"""
from __future__ import annotations

from ..services.search import search_customers
from ..services.search_plan import Page


def instant_search(uow, query: str, limit: int = 20, cursor: str | None = None) -> Page:
    return search_customers(uow, query, limit=limit, cursor=cursor)
