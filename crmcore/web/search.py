"""Search for the web's instant results: the kernel's start-up-fast search (:mod:`crmcore.services.quickfind`,
the same query plan and scoring as :func:`crmcore.services.search.find_customers`, tested to give the same
answers) run on the unit of work's own pooled connection. It loads only ids and names to rank the candidates
and the contacts of the few customers shown, where the ORM search loads every candidate's full row."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..services.access import customer_clause
from ..services.quickfind import _find
from ..services.search import find_customers, match_to_dict
from ..storage.models import Customer


#: candidates fetched per result shown when record rules hide some customers from the caller
OVERFETCH = 5


def instant_search(uow, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """The best ``limit`` matches the caller may read (record rules, :mod:`crmcore.services.access`).

    The search itself knows no rules: the matches are filtered afterwards (``_readable``), from ``OVERFETCH``
    times as many candidates, so a caller who may read few customers can get fewer than ``limit``. A search
    taking ``restrict=customer_clause(uow, "read")`` replaces that filter."""
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
    allowed = set(uow.session.scalars(select(Customer.id).where(Customer.id.in_([m["id"] for m in found]),
                                                                restrict)))
    return [m for m in found if m["id"] in allowed]
