"""Search for the web's instant results: the kernel's start-up-fast search (:mod:`crmcore.services.quickfind`,
the same query plan and scoring as :func:`crmcore.services.search.find_customers`, tested to give the same
answers) run on the unit of work's own pooled connection. It loads only ids and names to rank the candidates
and the contacts of the few customers shown, where the ORM search loads every candidate's full row."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..services.access import customer_clause
from ..services.quickfind import _find
from ..services.search import Match, find_customers, match_to_dict
from ..storage.models import Customer
from .deps import WebError
from .paging import page_of_list, page_of_query


#: candidates fetched per result shown when record rules hide some customers from the caller
OVERFETCH = 5


def instant_search(uow, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """The best ``limit`` matches the caller may read (record rules,
    :mod:`crmcore.services.access`).

    The search itself knows no rules: the matches are filtered afterwards (``_readable``), from
    ``OVERFETCH`` times as many candidates, so a caller who may read few customers can get fewer
    than ``limit``. A search taking ``restrict=customer_clause(uow, "read")`` replaces that
    filter."""
    restrict = customer_clause(uow, "read")
    fetch = limit if restrict is None else limit * OVERFETCH
    if not (query or "").strip():
        found = [match_to_dict(m) for m in find_customers(uow, query, limit=fetch)]
    else:
        connection = uow.session.connection()
        placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        cursor = connection.connection.cursor()
        try:
            found = _find(cursor, placeholder, query, fetch)
        finally:
            cursor.close()
    return found if restrict is None else _readable(uow, found, restrict)[:limit]


def _readable(uow, found: list[dict[str, Any]], restrict) -> list[dict[str, Any]]:
    if not found:
        return found
    ids = [m["id"] for m in found]
    allowed = set(uow.session.scalars(select(Customer.id).where(Customer.id.in_(ids), restrict)))
    return [m for m in found if m["id"] in allowed]


def search_page(uow, query: str, limit: int,
                key: list[Any] | None) -> tuple[list[dict[str, Any]], list | None]:
    """One page of the API's search after the cursor ``key``: ``(matches, next key)``. Matches are
    ranked (score, shorter name, id: :meth:`Scores.order`); a page after ``served`` matches searches
    for ``served + limit + 1`` and keeps those ranked after the last one served. Without a query:
    every readable customer by id."""
    if not (query or "").strip():
        stmt = select(Customer).where(Customer.merged_into_id.is_(None),
                                      Customer.forgotten_at.is_(None))
        restrict = customer_clause(uow, "read")
        if restrict is not None:
            stmt = stmt.where(restrict)
        rows, next_key = page_of_query(uow.session, stmt, [(Customer.id, False)], limit, key,
                                       lambda c: [c.id])
        return [match_to_dict(Match(c, 0, "all")) for c in rows], next_key

    def rank(m: dict[str, Any]) -> list[Any]:
        return [-m["score"], len(m["name"]), m["id"]]

    served = key[3] if key else 0
    if key is not None and (len(key) != 4 or not isinstance(served, int)):
        raise WebError(400, "the cursor is not one this list gave (start again without it)",
                       field="cursor")
    found = instant_search(uow, query, served + limit + 1)
    page, next_key = page_of_list(found, limit, key[:3] if key else None, rank)
    return page, (None if next_key is None else [*next_key, served + len(page)])
