"""PostgreSQL specifics: connection-pool settings from the environment and trigram indexes for search.

Pool (PostgreSQL only; SQLite needs none): ``CRM_DB_POOL_SIZE`` (default 5 connections kept open per process),
``CRM_DB_MAX_OVERFLOW`` (10 more under load), ``CRM_DB_POOL_TIMEOUT`` (seconds to wait for a free connection,
30), ``CRM_DB_POOL_RECYCLE`` (seconds after which a connection is replaced, e.g. below a proxy's idle timeout;
default never). A worker with N threads needs at least N connections. Behind PgBouncer in transaction mode,
also add ``?prepare_threshold=`` (empty: no server-side prepared statements) to the URL.

Trigram indexes (``pg_trgm``, created by the kernel migration ``k0003_workers`` when the extension is
installed or can be installed): ``customers.search_key`` (normalised names, for substring and similarity
search) and ``customer_phones.e164`` (``LIKE '%…%'`` on numbers; the customer search finds last
digits through ``ix_customer_phones_e164_reversed``). They are declared here as
PostgreSQL-only expression indexes so Alembic's comparison of models and migrations skips them where they
cannot exist (SQLite, or PostgreSQL without the extension).
"""

from __future__ import annotations

import os

from sqlalchemy import Index, text

from .models import Customer, CustomerPhone

POOL_SETTINGS = {
    "CRM_DB_POOL_SIZE": "pool_size",
    "CRM_DB_MAX_OVERFLOW": "max_overflow",
    "CRM_DB_POOL_TIMEOUT": "pool_timeout",
    "CRM_DB_POOL_RECYCLE": "pool_recycle",
}


def pool_options_from_environment(environ=os.environ) -> dict[str, int]:
    """Engine keyword arguments for the connection pool, from ``CRM_DB_POOL_*`` (only those that are set)."""
    options: dict[str, int] = {}
    for variable, option in POOL_SETTINGS.items():
        value = environ.get(variable, "").strip()
        if not value:
            continue
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{variable} must be a whole number, not {value!r}") from None
        if number < 0:
            raise ValueError(f"{variable} must not be negative, not {value!r}")
        options[option] = number
    return options


TRIGRAM_INDEXES = (
    Index(
        "ix_customers_search_key_trgm",
        text("search_key gin_trgm_ops"),
        _table=Customer.__table__,
        postgresql_using="gin",
    ).ddl_if(dialect="postgresql"),
    Index(
        "ix_customer_phones_e164_trgm",
        text("e164 gin_trgm_ops"),
        _table=CustomerPhone.__table__,
        postgresql_using="gin",
    ).ddl_if(dialect="postgresql"),
)
