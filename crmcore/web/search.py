"""Search for the web's instant results, the customer list and the API: the kernel's search
(:mod:`crmcore.services.search_plan`) on the unit of work's own pooled connection, a page at a time,
restricted to the customers the caller may read (record rules, :mod:`crmcore.services.access`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..services.access import customer_clause
from ..services.search import Match, match_to_dict, search_customers
from ..services.search_plan import Page
from ..storage.models import Customer
from .deps import WebError
from .paging import page_of_query


def instant_search(uow, query: str, limit: int = 20, cursor: str | None = None) -> Page:
    """A page of the best matches the caller may read; ``cursor`` is the previous page's
    ``next_cursor``."""
    return search_customers(
        uow, query, limit=limit, cursor=cursor, restrict=customer_clause(uow, "read")
    )


def search_page(
    uow, query: str, limit: int, key: list[Any] | None
) -> tuple[list[dict[str, Any]], list | None]:
    """One page of the API's search after the signed cursor's ``key``: ``(matches, next key)``.
    With a query the key holds the search's own cursor (ranked: score, shorter name, id); without
    one, every readable customer by id."""
    if not (query or "").strip():
        stmt = select(Customer).where(
            Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None)
        )
        restrict = customer_clause(uow, "read")
        if restrict is not None:
            stmt = stmt.where(restrict)
        rows, next_key = page_of_query(
            uow.session, stmt, [(Customer.id, False)], limit, key, lambda c: [c.id]
        )
        return [match_to_dict(Match(c, 0, "all")) for c in rows], next_key
    if key is not None and (len(key) != 1 or not isinstance(key[0], str)):
        raise WebError(
            400, "the cursor is not one this list gave (start again without it)", field="cursor"
        )
    page = instant_search(uow, query, limit, key[0] if key else None)
    return page.results, ([page.next_cursor] if page.next_cursor else None)
