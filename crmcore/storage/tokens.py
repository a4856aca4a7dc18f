"""Name search tokens and their counts, written together: every writer of ``customer_search_tokens``
(the services, the bulk importer, the import's updates) goes through here, so
``customer_search_token_counts`` (how many customers have each token: the search's word frequencies)
follows them."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from sqlalchemy import Integer, String, column, delete, table, text

from .bulk import insert_values
from .models import CustomerSearchToken

_COUNTS = table(
    "customer_search_token_counts", column("token", String), column("customers", Integer)
)
_ADD = text(
    "INSERT INTO customer_search_token_counts AS counted (token, customers) "
    "VALUES (:token, :n) ON CONFLICT (token) "
    "DO UPDATE SET customers = counted.customers + excluded.customers"
)


def add_tokens(session, rows: list[tuple[int, str]], *, index_order: str | None = "token") -> None:
    """Store (customer_id, token) rows (new: not stored yet) and count them."""
    if not rows:
        return
    insert_values(
        session,
        CustomerSearchToken.__table__,
        ("customer_id", "token"),
        rows,
        index_order=index_order,
    )
    count_tokens(session, Counter(token for _, token in rows))


def remove_tokens(session, customer_ids: Iterable[int]) -> None:
    """Delete the customers' tokens and uncount them."""
    ids = list(customer_ids)
    if not ids:
        return
    table = CustomerSearchToken.__table__
    removed = session.execute(
        delete(table).where(table.c.customer_id.in_(ids)).returning(table.c.token)
    )
    gone = Counter(removed.scalars())
    count_tokens(session, Counter({token: -n for token, n in gone.items()}))
    # a word nobody has any more is not kept (a forgotten person's name must not stay readable)
    counts = _COUNTS
    session.execute(delete(counts).where(counts.c.token.in_(sorted(gone)), counts.c.customers <= 0))


def count_tokens(session, counts: Counter) -> None:
    """Add ``counts`` (token -> change) to the stored counts, in token order (concurrent writers
    lock the rows in the same order)."""
    if counts:
        session.execute(_ADD, [{"token": t, "n": n} for t, n in sorted(counts.items()) if n])


def recount_tokens(connection) -> None:
    """Count every stored token afresh, after tokens were written some other way (the bulk load of
    ``benchmarks/search.py``)."""
    connection.execute(text("DELETE FROM customer_search_token_counts"))
    connection.execute(
        text(
            "INSERT INTO customer_search_token_counts (token, customers) "
            "SELECT token, count(*) FROM customer_search_tokens GROUP BY token"
        )
    )
