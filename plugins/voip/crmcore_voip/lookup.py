"""Who is calling: the kernel's customer search, its exact matches on the normalised number."""

from __future__ import annotations

from crmcore.api import SCORE_EXACT_CONTACT, Customer, find_customers

SHARED = 50  # customers sharing one number, at most (a family's landline, a company's switchboard)


def customers_with_number(uow, e164: str | None) -> list[Customer]:
    """Active customers having ``e164`` among their phones, most recently updated first."""
    if not e164:
        return []
    found = [
        m.customer
        for m in find_customers(uow, e164, limit=SHARED)
        if m.matched == "phone" and m.score == SCORE_EXACT_CONTACT
    ]
    return sorted(found, key=lambda c: (c.updated_at, c.id), reverse=True)
