"""``crm customers find``: Persian-normalised name search (word prefixes), any phone format, email, external id,
and ``--where`` fields from the kernel and plugins. Scoring lives in :mod:`crmcore.services.search_plan`."""
from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import and_, case, func, or_, select

from ..errors import ValidationError
from ..storage.models import Customer, CustomerEmail, CustomerPhone, CustomerSearchToken
from .search_fields import where_conditions
from .search_plan import (
    CANDIDATES, SCORE_EMAIL_PREFIX, SCORE_EXACT_CONTACT, SCORE_PHONE_SUFFIX, TOP, Scores, plan, score_name,
)


@attrs.frozen
class Match:
    customer: Customer
    score: int
    matched: str  # phone | email | external_id | name | all


def _prefix(column, word: str):
    return and_(column >= word, column < word + TOP)


def find_customers(uow, query: str | None = None, *, where: list[str] | None = None, limit: int = 20) -> list[Match]:
    """Customers matching ``query`` and every ``where`` clause, best first.

    Scores: exact phone, email or external id 100; the whole name 90; name starting with the query 80; every
    query word a whole word of the name 70; word prefixes 60.
    """
    session = uow.session
    if limit < 1:
        raise ValidationError("the limit must be at least 1", field="limit")
    conditions = where_conditions(uow, where or [])
    active = and_(Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))
    p = plan(query or "")
    if not p.text:
        stmt = select(Customer).where(active, *conditions).order_by(Customer.id).limit(limit)
        return [Match(c, 0, "all") for c in session.scalars(stmt)]
    scores = Scores()
    if p.email:
        scores.add(session.scalars(select(CustomerEmail.customer_id).where(CustomerEmail.email == p.email)),
                   SCORE_EXACT_CONTACT, "email")
        scores.add(session.scalars(select(CustomerEmail.customer_id).where(_prefix(CustomerEmail.email, p.email))
                                   .limit(CANDIDATES)), SCORE_EMAIL_PREFIX, "email")
    if p.phone_e164:
        scores.add(session.scalars(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == p.phone_e164)),
                   SCORE_EXACT_CONTACT, "phone")
    if p.phone_digits and not scores:
        scores.add(session.scalars(select(CustomerPhone.customer_id).where(
            CustomerPhone.e164.like(f"%{p.phone_digits}")).limit(CANDIDATES)), SCORE_PHONE_SUFFIX, "phone")
    scores.add(session.scalars(select(Customer.id).where(Customer.external_id == p.text)), SCORE_EXACT_CONTACT,
               "external_id")
    if p.words:
        token = CustomerSearchToken.token
        which = case(*[(_prefix(token, w), i) for i, w in enumerate(p.words)], else_=None)
        stmt = (select(CustomerSearchToken.customer_id).where(or_(*[_prefix(token, w) for w in p.words]))
                .group_by(CustomerSearchToken.customer_id)
                .having(func.count(func.distinct(which)) == len(p.words)).limit(CANDIDATES))
        ids = set(session.scalars(stmt))
        if p.joined:  # "علیرضا" typed as "علی رضا" or the reverse
            ids.update(session.scalars(select(CustomerSearchToken.customer_id)
                                       .where(_prefix(token, p.joined)).limit(CANDIDATES)))
        if ids:
            for cid, skey in session.execute(select(Customer.id, Customer.search_key).where(Customer.id.in_(ids))):
                scores.add([cid], score_name(p, skey), "name")
    if not scores:
        return []
    customers = scores.order(session.scalars(select(Customer).where(Customer.id.in_(list(scores)), active,
                                                                     *conditions)))
    return [Match(c, scores[c.id][0], scores[c.id][1]) for c in customers[:limit]]


def match_to_dict(m: Match) -> dict[str, Any]:
    c = m.customer
    return {"id": c.id, "name": c.display_name, "phones": [p.e164 for p in c.phones],
            "emails": [e.email for e in c.emails], "external_id": c.external_id, "city": c.city,
            "score": m.score, "matched": m.matched}
