"""Probable duplicates already in the database, and merging the certain ones.

Certain: two active customers share a normalised phone or email (phones are stored E.164, emails lower-case).
Possible: the same normalised name (Persian letters folded, spaces ignored) and the same city or birthday —
reported for a person to decide, never merged automatically. The finder over the whole table is one GROUP BY
query per kind (a sort in the database); after an import that added few customers to a large table, their
name twins are looked up through the name-token index instead (see :func:`iter_name_groups`).
"""

from __future__ import annotations

from itertools import chain, islice
from typing import Any, Iterator

from sqlalchemy import String, and_, cast, func, select, true

from ..services.customers import merge_customers
from ..storage.models import Customer, CustomerEmail, CustomerPhone, CustomerSearchToken
from .lookups import is_postgresql, values_as_rows

ACTIVE = and_(Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))


def _members(session, ids: list[int]) -> dict[int, dict[str, Any]]:
    out = {}
    for cid, name, city, birthday, ext in session.execute(
        select(
            Customer.id,
            Customer.display_name,
            Customer.city,
            Customer.birthday,
            Customer.external_id,
        ).where(Customer.id.in_(ids))
    ):
        out[cid] = {
            "id": cid,
            "name": name,
            "city": city,
            "birthday": birthday.isoformat() if birthday else None,
            "external_id": ext,
        }
    return out


def contact_groups(session) -> list[dict[str, Any]]:
    """Customers sharing a phone or an email: ``{"match": "phone", "value": "+98…", "customers": [...]}``."""
    groups: list[dict[str, Any]] = []
    for model, column, label in (
        (CustomerPhone, CustomerPhone.e164, "phone"),
        (CustomerEmail, CustomerEmail.email, "email"),
    ):
        shared = (
            select(column)
            .join(Customer, Customer.id == model.customer_id)
            .where(ACTIVE)
            .group_by(column)
            .having(func.count(func.distinct(model.customer_id)) > 1)
        )
        rows = session.execute(
            select(column, model.customer_id)
            .join(Customer, Customer.id == model.customer_id)
            .where(ACTIVE, column.in_(shared))
            .order_by(column, model.customer_id)
        ).all()
        by_value: dict[str, list[int]] = {}
        for value, cid in rows:
            if cid not in by_value.setdefault(value, []):
                by_value[value].append(cid)
        for value, ids in by_value.items():
            groups.append({"match": label, "value": value, "ids": ids, "certain": True})
    return groups


def name_groups(session, *, min_id: int | None = None) -> list[dict[str, Any]]:
    """Customers with the same normalised name and the same city or birthday (``min_id``: only groups holding
    a customer with an id at least this, i.e. created by an import that just ran)."""
    return list(iter_name_groups(session, min_id=min_id))


#: an import that added fewer customers than this share of those already there finds their name twins through
#: the name-token index; a larger one (or a first import) sorts the whole table once per kind of group
NEAR_SHARE = 0.25
#: a compact name key this long may come from a name cut to 300 characters, which its tokens do not hold
LONGEST_TOKEN_KEY = 150


def iter_name_groups(session, *, min_id: int | None = None) -> Iterator[dict[str, Any]]:
    """:func:`name_groups` one group at a time, streamed from the database (memory stays flat).

    With ``min_id`` (after an import), when the import added few customers compared with the table, only the
    customers sharing a name key with the new ones are read: the compact name key (the normalised name
    without spaces) is always one of a customer's search tokens (the word itself, the two words joined, or
    all words joined), so the token index finds every twin — the same groups as the whole-table query, in
    the order of name key, value and id (a test compares the two ways on both databases)."""
    if min_id is not None:
        near = _near_name_groups(session, min_id)
        if near is not None:
            yield from near
            return
    yield from _all_name_groups(session, min_id=min_id)


def _all_name_groups(session, *, min_id: int | None = None) -> Iterator[dict[str, Any]]:
    key = func.replace(Customer.search_key, " ", "")
    for column, label in ((Customer.city, "name_city"), (Customer.birthday, "name_birthday")):
        # one GROUP BY (one sort of the table), where a join on the computed key would compare every pair;
        # the group's ids come as one aggregated string (group_concat / string_agg)
        stmt = (
            select(
                key.label("k"),
                column.label("v"),
                func.aggregate_strings(cast(Customer.id, String), ","),
            )
            .where(ACTIVE, column.is_not(None), Customer.search_key != "")
            .group_by(key, column)
            .having(func.count() > 1)
        )
        if min_id is not None:
            stmt = stmt.having(func.max(Customer.id) >= min_id)
        for _k, value, ids in session.execute(
            stmt.order_by(key, column).execution_options(yield_per=2000)
        ):
            yield _name_group(label, value, sorted(map(int, ids.split(","))))


def _near_name_groups(session, min_id: int) -> list[dict[str, Any]] | None:
    """The groups holding a customer with an id of at least ``min_id``, found through the token index; ``None``
    when the whole-table query is the better (or the only exact) way."""
    newer = (ACTIVE, Customer.id >= min_id, Customer.search_key != "")
    count = session.scalar(select(func.count()).select_from(Customer).where(*newer))
    if not count:
        return []
    if count > NEAR_SHARE * (
        min_id - 1
    ):  # decided before reading them: a large import's names stay unread
        return None
    new = session.execute(select(Customer.id, Customer.search_key).where(*newer)).all()
    keys = sorted({skey.replace(" ", "") for _cid, skey in new})
    if any(len(k) >= LONGEST_TOKEN_KEY for k in keys):
        return None
    wanted = set(keys)
    twins: dict[
        int, tuple[str, Any, Any]
    ] = {}  # a token equal to a key may be another name's word or pair
    for start in range(0, len(keys), 500):
        for cid, skey, city, birthday in _token_twins(session, keys[start : start + 500]):
            key = skey.replace(" ", "")
            if key in wanted:
                twins[cid] = (key, city, birthday)
    groups: list[dict[str, Any]] = []
    for position, label in ((1, "name_city"), (2, "name_birthday")):
        by_value: dict[tuple[str, Any], list[int]] = {}
        for cid, values in twins.items():
            if values[position] is not None:
                by_value.setdefault((values[0], values[position]), []).append(cid)
        for (_key, value), ids in sorted(by_value.items(), key=lambda item: item[0]):
            if len(ids) > 1 and max(ids) >= min_id:
                groups.append(_name_group(label, value, sorted(ids)))
    return groups


def _token_twins(session, keys: list[str]):
    """``(id, search key, city, birthday)`` of the active customers holding one of ``keys`` as a name token."""
    columns = (Customer.id, Customer.search_key, Customer.city, Customer.birthday)
    if is_postgresql(
        session
    ):  # a probe of the token index per key, whatever the statistics say (lookups.py)
        wanted = values_as_rows(keys, String, "keys")
        found = (
            select(*columns)
            .join(CustomerSearchToken, CustomerSearchToken.customer_id == Customer.id)
            .where(CustomerSearchToken.token == wanted.c.value, ACTIVE)
            .offset(0)
            .lateral("found")
        )
        return session.execute(select(found).select_from(wanted).join(found, true())).all()
    holders = select(CustomerSearchToken.customer_id).where(CustomerSearchToken.token.in_(keys))
    return session.execute(select(*columns).where(Customer.id.in_(holders), ACTIVE)).all()


def _name_group(label: str, value: Any, ids: list[int]) -> dict[str, Any]:
    return {
        "match": label,
        "value": value.isoformat() if hasattr(value, "isoformat") else value,
        "ids": ids,
        "certain": False,
    }


def find_duplicates(uow, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Certain groups (shared phone/email) first, then possible ones (same name and city or birthday), each
    with its customers' id, name, city, birthday and external id."""
    session = uow.session
    groups = list(islice(chain(contact_groups(session), iter_name_groups(session)), limit))
    members = _members(session, sorted({cid for g in groups for cid in g["ids"]})) if groups else {}
    for g in groups:
        g["customers"] = [members[cid] for cid in g.pop("ids")]
    return groups


def merge_certain_duplicates(uow) -> list[dict[str, Any]]:
    """Merge every set of customers linked by shared phones or emails into its oldest member (kernel
    ``merge_customers``: interactions move, plugins re-point their rows in ``crm_customers_merged``).
    Name-only groups are left alone. Returns ``[{"kept": id, "merged": [ids]}]``."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in contact_groups(uow.session):
        first = g["ids"][0]
        for other in g["ids"][1:]:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    clusters: dict[int, list[int]] = {}
    for cid in list(parent):
        clusters.setdefault(find(cid), []).append(cid)
    done = []
    for keep, ids in sorted(clusters.items()):
        others = sorted(i for i in ids if i != keep)
        if not others:
            continue
        for other in others:
            merge_customers(uow, keep, other)
        done.append({"kept": keep, "merged": others})
    return done
