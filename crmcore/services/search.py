"""``crm customers find``: Persian-normalised name search (word prefixes), any phone format, email, external id,
and ``--where`` fields from the kernel and plugins. Scoring lives in :mod:`crmcore.services.search_plan`."""
from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from ..errors import ValidationError
from ..storage.models import Customer, CustomerEmail, CustomerPhone, CustomerSearchToken
from .search_fields import where_conditions
from .search_plan import (
    CANDIDATES, COUNT_CAP, SCORE_EMAIL_PREFIX, SCORE_EXACT_CONTACT, SCORE_PHONE_SUFFIX, TOP, Scores, plan,
    score_name, word_order,
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
        words = list(dict.fromkeys(p.words))
        counts = {w: session.scalar(select(func.count()).select_from(
            select(CustomerSearchToken.customer_id).where(_prefix(token, w)).limit(COUNT_CAP).subquery()))
            for w in words} if len(words) > 1 else {}
        driver, *others = word_order(words, counts)
        found = aliased(CustomerSearchToken)
        also = []
        for w in others:  # each other word: some token of the same customer starts with it
            other = aliased(CustomerSearchToken)
            also.append(exists().where(other.customer_id == found.customer_id, _prefix(other.token, w)))
        ids = set(session.scalars(select(found.customer_id).where(_prefix(found.token, driver), *also)
                                  .order_by(found.token, found.customer_id).limit(CANDIDATES)))
        if p.joined:  # names starting with the words as typed: the best scores, whatever the cap above left out
            ids.update(session.scalars(select(Customer.id).where(_prefix(Customer.search_key, p.key))
                                       .order_by(Customer.search_key, Customer.id).limit(CANDIDATES)))
            # "علیرضا" typed as "علی رضا" or the reverse
            ids.update(session.scalars(select(CustomerSearchToken.customer_id).where(_prefix(token, p.joined))
                                       .order_by(token, CustomerSearchToken.customer_id).limit(CANDIDATES)))
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
