"""The customer list: a page of customers chosen by ``--where`` clauses (the same clauses segments
and campaigns use), optionally matching a search text, sorted and paged on the server; and saved
segments."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, select

from ..domain.money import DEFAULT_CURRENCY, Money
from ..errors import Conflict, NotFound, ValidationError
from ..storage.models import Customer, CustomerPhone, CustomerTag, Interaction, Segment
from .access import customer_clause
from .search import find_customers
from .search_fields import parse_clause, spent_minor, where_conditions

#: sort keys a person may ask for, each backed by an index (search_key) or the primary key
SORTS = {
    "name": (Customer.search_key, Customer.id),
    "-name": (Customer.search_key.desc(), Customer.id.desc()),
    "newest": (Customer.id.desc(),),
    "oldest": (Customer.id,),
}
PER_PAGE = (25, 50, 100)
#: how many search matches the list pages through when a search text is given (best first)
SEARCH_LIMIT = 500


@attrs.frozen
class CustomerRow:
    id: int
    name: str
    phone: str | None
    city: str | None
    #: the username owning the customer under the record rules
    owner: str | None
    tags: tuple[str, ...]
    consent_sms: bool
    consent_email: bool
    last_purchase: datetime | None
    spent: Money


@attrs.frozen
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def active():
    return (Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))


def _readable(uow) -> list:
    """The record rules' condition for the viewer (none when they may read everyone)."""
    restrict = customer_clause(uow, "read")
    return [] if restrict is None else [restrict]


def customer_ids(uow, clauses: list[str], query: str = "") -> Any:
    """A select of the ids of active customers the viewer may read matching ``clauses`` (and
    ``query``, best matches first)."""
    readable = _readable(uow)
    if query.strip():
        ids = [
            m.customer.id
            for m in find_customers(
                uow,
                query,
                where=clauses,
                limit=SEARCH_LIMIT,
                restrict=readable[0] if readable else None,
            )
        ]
        return select(Customer.id).where(Customer.id.in_(ids or [-1]))
    return select(Customer.id).where(*active(), *where_conditions(uow, clauses), *readable)


def list_customers(
    uow,
    clauses: list[str],
    *,
    query: str = "",
    sort: str = "newest",
    page: int = 1,
    per_page: int = 50,
) -> CustomerPage:
    """One page of the customers ``clauses`` select (bad clauses raise ``ValidationError`` naming
    them)."""
    if sort not in SORTS:
        raise ValidationError(f"unknown sort {sort!r} (one of {', '.join(SORTS)})", field="sort")
    per_page = per_page if per_page in PER_PAGE else PER_PAGE[1]
    page = max(1, page)
    session = uow.session
    readable = _readable(uow)
    if query.strip():
        ranked = [
            m.customer.id
            for m in find_customers(
                uow,
                query,
                where=clauses,
                limit=SEARCH_LIMIT,
                restrict=readable[0] if readable else None,
            )
        ]
        total = len(ranked)
        if sort != "newest":  # the default keeps the search's own order: best match first
            ranked = list(
                session.scalars(
                    select(Customer.id)
                    .where(Customer.id.in_(ranked or [-1]))
                    .order_by(*SORTS[sort])
                )
            )
        ids = ranked[(page - 1) * per_page : page * per_page]
    else:
        conditions = [*active(), *where_conditions(uow, clauses), *readable]
        total = session.scalar(select(func.count()).select_from(Customer).where(*conditions)) or 0
        ids = list(
            session.scalars(
                select(Customer.id)
                .where(*conditions)
                .order_by(*SORTS[sort])
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
    return CustomerPage(rows=rows_for(uow, ids), total=total, page=page, per_page=per_page)


def rows_for(uow, ids: list[int]) -> list[CustomerRow]:
    """The list's columns for ``ids``, in that order: five small queries, whatever the page size."""
    if not ids:
        return []
    session = uow.session
    base = {
        r.id: r
        for r in session.execute(
            select(
                Customer.id,
                Customer.display_name,
                Customer.city,
                Customer.owner_id,
                Customer.consent_sms,
                Customer.consent_email,
            ).where(Customer.id.in_(ids))
        )
    }
    phones: dict[int, str] = {}
    for cid, e164 in session.execute(
        select(CustomerPhone.customer_id, CustomerPhone.e164)
        .where(CustomerPhone.customer_id.in_(ids))
        .order_by(CustomerPhone.customer_id, CustomerPhone.position)
    ):
        phones.setdefault(cid, e164)
    tags: dict[int, list[str]] = defaultdict(list)
    for cid, tag in session.execute(
        select(CustomerTag.customer_id, CustomerTag.tag)
        .where(CustomerTag.customer_id.in_(ids))
        .order_by(CustomerTag.tag)
    ):
        tags[cid].append(tag)
    # one correlated lookup per customer on (customer_id, occurred_at): grouping the ids' purchases
    # lets SQLite pick the kind index and read every purchase there is
    last_purchase = (
        select(func.max(Interaction.occurred_at))
        .where(Interaction.customer_id == Customer.id, Interaction.kind == "purchase")
        .scalar_subquery()
    )
    last = dict(
        session.execute(select(Customer.id, last_purchase).where(Customer.id.in_(ids))).all()
    )
    spent = dict(
        session.execute(select(Customer.id, spent_minor()).where(Customer.id.in_(ids))).all()
    )
    from ..web.models import WebUser

    owner_ids = {r.owner_id for r in base.values() if r.owner_id is not None}
    usernames = (
        dict(
            session.execute(
                select(WebUser.id, WebUser.username).where(WebUser.id.in_(owner_ids))
            ).all()
        )
        if owner_ids
        else {}
    )
    rows = []
    for cid in ids:
        r = base.get(cid)
        if r is None:
            continue
        rows.append(
            CustomerRow(
                id=cid,
                name=r.display_name,
                phone=phones.get(cid),
                city=r.city,
                owner=usernames.get(r.owner_id),
                tags=tuple(tags.get(cid, ())),
                consent_sms=bool(r.consent_sms),
                consent_email=bool(r.consent_email),
                last_purchase=last.get(cid),
                spent=Money(int(spent.get(cid) or 0), DEFAULT_CURRENCY),
            )
        )
    return rows


# --- saved segments -------------------------------------------------------------------------------
def save_segment(uow, name: str, clauses: list[str]) -> Segment:
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationError("give the segment a name (at most 100 characters)", field="name")
    if not clauses:
        raise ValidationError("a segment needs at least one filter", field="where")
    for clause in clauses:
        parse_clause(clause)
    where_conditions(uow, clauses)  # unknown fields and bad values are refused now, not when used
    if uow.session.scalar(select(Segment.id).where(Segment.name == name)) is not None:
        raise Conflict(f"a segment named {name!r} exists", field="name")
    row = Segment(name=name, clauses=list(clauses), created_by=uow.actor, created_at=uow.now())
    uow.session.add(row)
    uow.session.flush()
    uow.audit("create", "segment", row.id, {"name": name, "where": list(clauses)})
    return row


def list_segments(uow) -> list[Segment]:
    return list(uow.session.scalars(select(Segment).order_by(Segment.name)))


def get_segment(uow, segment_id: int) -> Segment:
    row = uow.session.get(Segment, segment_id)
    if row is None:
        raise NotFound(f"no segment #{segment_id}", field="segment")
    return row


def delete_segment(uow, segment_id: int) -> None:
    row = get_segment(uow, segment_id)
    uow.audit("delete", "segment", row.id, {"name": row.name})
    uow.session.delete(row)
