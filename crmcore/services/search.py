"""``crm customers find``: Persian-normalised name search (word prefixes), any phone format, email, external id."""
from __future__ import annotations

import re
from typing import Any

import attrs
from sqlalchemy import and_, case, func, or_, select

from ..domain.phones import looks_like_phone, parse_phone
from ..domain.text import compact, normalize, to_ascii_digits, tokens
from ..errors import ValidationError
from ..storage.models import Customer, CustomerEmail, CustomerPhone, CustomerSearchToken
from .search_fields import where_conditions

_TOP = "\U0010ffff"
CANDIDATES = 2000


@attrs.frozen
class Match:
    customer: Customer
    score: int
    matched: str  # phone | email | external_id | name


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
    q = (query or "").strip()
    scored: dict[int, tuple[int, str]] = {}

    def add(ids, score: int, how: str) -> None:
        for cid in ids:
            if cid not in scored or scored[cid][0] < score:
                scored[cid] = (score, how)

    if not q:
        stmt = select(Customer).where(active, *conditions).order_by(Customer.id).limit(limit)
        return [Match(c, 0, "all") for c in session.scalars(stmt)]
    if "@" in q:
        email = q.lower()
        add(session.scalars(select(CustomerEmail.customer_id).where(CustomerEmail.email == email)), 100, "email")
        add(session.scalars(select(CustomerEmail.customer_id).where(
            CustomerEmail.email >= email, CustomerEmail.email < email + _TOP).limit(CANDIDATES)), 75, "email")
    if looks_like_phone(q):
        try:
            e164 = parse_phone(q).e164
            add(session.scalars(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164)), 100, "phone")
        except ValidationError:
            pass
        digits = re.sub(r"\D", "", to_ascii_digits(q)).lstrip("0")
        if len(digits) >= 4 and not scored:
            add(session.scalars(select(CustomerPhone.customer_id).where(
                CustomerPhone.e164.like(f"%{digits}")).limit(CANDIDATES)), 65, "phone")
    add(session.scalars(select(Customer.id).where(Customer.external_id == q)), 100, "external_id")
    words = tokens(q)
    if words:
        key = normalize(q)
        which = case(*[(and_(CustomerSearchToken.token >= w, CustomerSearchToken.token < w + _TOP), i)
                       for i, w in enumerate(words)], else_=None)
        ranges = or_(*[and_(CustomerSearchToken.token >= w, CustomerSearchToken.token < w + _TOP) for w in words])
        stmt = (select(CustomerSearchToken.customer_id).where(ranges)
                .group_by(CustomerSearchToken.customer_id)
                .having(func.count(func.distinct(which)) == len(words)).limit(CANDIDATES))
        ids = list(session.scalars(stmt))
        if len(words) > 1:  # "علیرضا" typed as "علی رضا" or the reverse: match the joined form too
            joined = compact(q)
            ids += list(session.scalars(select(CustomerSearchToken.customer_id).where(
                CustomerSearchToken.token >= joined, CustomerSearchToken.token < joined + _TOP).limit(CANDIDATES)))
        if ids:
            rows = session.execute(select(Customer.id, Customer.search_key).where(Customer.id.in_(set(ids)))).all()
            wordset = set(words)
            for cid, skey in rows:
                if skey == key:
                    s = 90
                elif skey.startswith(key) or skey.replace(" ", "").startswith(compact(q)):
                    s = 80
                elif wordset <= set(skey.split(" ")):
                    s = 70
                else:
                    s = 60
                add([cid], s, "name")
    if not scored:
        return []
    stmt = select(Customer).where(Customer.id.in_(list(scored)), active, *conditions)
    customers = list(session.scalars(stmt))
    customers.sort(key=lambda c: (-scored[c.id][0], len(c.display_name), c.id))
    return [Match(c, scored[c.id][0], scored[c.id][1]) for c in customers[:limit]]


def match_to_dict(m: Match) -> dict[str, Any]:
    c = m.customer
    return {"id": c.id, "name": c.display_name, "phones": [p.e164 for p in c.phones],
            "emails": [e.email for e in c.emails], "external_id": c.external_id, "city": c.city,
            "score": m.score, "matched": m.matched}
