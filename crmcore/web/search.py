"""Search for the web's instant results: the kernel's start-up-fast search (:mod:`crmcore.services.quickfind`,
the same query plan and scoring as :func:`crmcore.services.search.find_customers`, tested to give the same
answers) run on the unit of work's own pooled connection. It loads only ids and names to rank the candidates
and the contacts of the few customers shown, where the ORM search loads every candidate's full row."""
from __future__ import annotations

from typing import Any

from ..services.quickfind import _find
from ..services.search import find_customers, match_to_dict


def instant_search(uow, query: str, limit: int = 20) -> list[dict[str, Any]]:
    if not (query or "").strip():
        return [match_to_dict(m) for m in find_customers(uow, query, limit=limit)]
    connection = uow.session.connection()
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    cursor = connection.connection.cursor()
    try:
        return _find(cursor, placeholder, query, limit)
    finally:
        cursor.close()
