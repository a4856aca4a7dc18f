"""Who is calling: customers by normalised number."""
from __future__ import annotations

from crmcore.api import Customer
from sqlalchemy import select


def customers_with_number(session, e164: str | None) -> list[Customer]:
    """Active customers having ``e164`` among their phones, most recently updated first."""
    if not e164:
        return []
    stmt = (select(Customer).where(Customer.phones.any(e164=e164), Customer.merged_into_id.is_(None),
                                   Customer.forgotten_at.is_(None))
            .order_by(Customer.updated_at.desc(), Customer.id.desc()))
    return list(session.scalars(stmt))
