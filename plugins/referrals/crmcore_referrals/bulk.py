"""The batch forms of the referrals hooks for imports: a batch's codes checked and attached
set-based.

The rules are :func:`.service.attach`'s for a brand-new customer: such a friend has no referral yet,
no purchase and stands above nobody, so what remains is the code (known, not expired, not the
customer's own), a phone or email shared with the referrer, and a phone already used by a referred
friend; each is one query for the whole batch. A refusal rejects the row in the import (the live
path refuses the command). When a plugin implements ``referrals_same_household`` (it needs ORM
customers) the batch's friends are attached one by one through :func:`.service.attach`.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select

from crmcore.api import (
    Customer,
    CustomerChange,
    CustomerEmail,
    CustomerPhone,
    NewCustomer,
    Refusal,
    ValidationError,
    insert_with_ids,
)

from . import codes
from .models import Referral
from .service import MAX_CHAIN, _digest, referral_to_dict

ATTRIBUTE = "referral_code"
#: bound parameters per IN list (SQLite allows 32,766; PostgreSQL 65,535)
CHUNK = 5000


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _new_code(record: Any) -> str | None:
    """The code a record brings: a new customer's, or one a change sets (not one it already had)."""
    if isinstance(record, NewCustomer):
        return (record.attributes or {}).get(ATTRIBUTE) or None
    if isinstance(record, CustomerChange) and "attributes" in record.changes:
        old, new = record.changes["attributes"]
        code = (new or {}).get(ATTRIBUTE)
        return code if code and code != (old or {}).get(ATTRIBUTE) else None
    return None


def referrers(uow, wanted: dict[int, str]) -> dict[int, int | str]:
    """Index → the referrer id behind its code (following merges), or the refusal message; the
    codes' customers are read a set at a time. Decoded codes are remembered for the unit of work
    (the batch's validation and attachment decode the same codes; members' codes repeat)."""
    key = codes.code_key(uow)
    known: dict[str, int | str] = uow.cache.setdefault("referrals.decoded", {})
    out: dict[int, int | str] = {}
    decoded: dict[int, int] = {}
    for i, code in wanted.items():
        found = known.get(code)
        if found is None:
            try:
                found = codes.decode(key, code)
            except ValidationError as exc:
                found = exc.message
            if len(known) > 100_000:
                known.clear()
            known[code] = found
        if isinstance(found, str):
            out[i] = found
        else:
            decoded[i] = found
    #: members' merged / forgotten state, remembered for the unit of work (an import merges and
    #: forgets no one; the same members' codes come back batch after batch)
    state: dict[int, tuple[int | None, Any]] = uow.cache.setdefault("referrals.members", {})
    todo = set(decoded.values())
    for _ in range(MAX_CHAIN + 1):
        todo -= set(state)
        if not todo:
            break
        for part in _chunks(sorted(todo)):
            for cid, merged, forgotten in uow.session.execute(
                select(Customer.id, Customer.merged_into_id, Customer.forgotten_at).where(
                    Customer.id.in_(part)
                )
            ):
                state[cid] = (merged, forgotten)
        todo = {merged for merged, _f in state.values() if merged is not None}
    for i, cid in decoded.items():
        seen = 0
        while cid in state and state[cid][0] is not None and seen < MAX_CHAIN:
            cid, seen = state[cid][0], seen + 1
        if cid not in state:
            out[i] = f"unknown referral code {wanted[i]!r}"
        elif state[cid][1] is not None:
            out[i] = f"referral code {wanted[i]!r} has expired: its member left the club"
        else:
            out[i] = cid
    return out


def _contacts(uow, ids: set[int]) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    phones: dict[int, set[str]] = {}
    emails: dict[int, set[str]] = {}
    for part in _chunks(sorted(ids)):
        for cid, e164 in uow.session.execute(
            select(CustomerPhone.customer_id, CustomerPhone.e164).where(
                CustomerPhone.customer_id.in_(part)
            )
        ):
            phones.setdefault(cid, set()).add(e164)
        for cid, email in uow.session.execute(
            select(CustomerEmail.customer_id, CustomerEmail.email).where(
                CustomerEmail.customer_id.in_(part)
            )
        ):
            emails.setdefault(cid, set()).add(email)
    return phones, emails


def refusals(uow, customers: list) -> list[Refusal]:
    """``crm_validate_customers``: the records whose code cannot attach them."""
    wanted = {i: code for i, c in enumerate(customers) if (code := _new_code(c))}
    if not wanted:
        return []
    found = referrers(uow, wanted)
    out = [Refusal(i, answer) for i, answer in found.items() if isinstance(answer, str)]
    good = {i: cid for i, cid in found.items() if not isinstance(cid, str)}
    if not good:
        return out
    phones, emails = _contacts(uow, set(good.values()))
    digests = {
        _digest(p): i
        for i in good
        if isinstance(customers[i], NewCustomer)
        for p in customers[i].phones
    }
    used = set()
    for part in _chunks(sorted(digests)):
        used |= set(
            uow.session.scalars(
                select(Referral.phone_digest).where(Referral.phone_digest.in_(part))
            )
        )
    for i, referrer in good.items():
        record = customers[i]
        if record.id is not None and record.id == referrer:
            out.append(Refusal(i, "a member cannot use their own referral code"))
            continue
        if not isinstance(record, NewCustomer):  # a change: only the code is checked, as live
            continue
        name = record.name
        shared = set(record.phones) & phones.get(referrer, set())
        if shared:
            out.append(
                Refusal(
                    i, f"self-referral: {name} and the referrer share the phone {sorted(shared)[0]}"
                )
            )
            continue
        shared = set(record.emails) & emails.get(referrer, set())
        if shared:
            out.append(
                Refusal(
                    i, f"self-referral: {name} and the referrer share the email {sorted(shared)[0]}"
                )
            )
            continue
        if any(_digest(p) in used for p in record.phones):
            out.append(
                Refusal(i, f"the phone of {name} was already used by another referred friend")
            )
    return sorted(out, key=lambda r: r.index)


def attach_new(uow, customers: list[NewCustomer], batch) -> int:
    """``crm_customers_created``: a referral for every new customer with a code (already checked by
    :func:`refusals`, so a refusal here means the batch was written without it: raised)."""
    coded = [c for c in customers if (c.attributes or {}).get(ATTRIBUTE)]
    if not coded:
        return 0
    if uow.listened("referrals_same_household"):  # plugins comparing ORM customers: the live checks
        from . import service

        for c in coded:
            service.attach(
                uow, uow.session.get(Customer, c.id), c.attributes[ATTRIBUTE], source="signup"
            )
        return len(coded)
    found = referrers(uow, {i: c.attributes[ATTRIBUTE] for i, c in enumerate(coded)})
    for i, answer in found.items():
        if isinstance(answer, str):
            raise ValidationError(answer, field="code")
    key = codes.code_key(uow)
    own_codes: dict[int, str] = uow.cache.setdefault("referrals.codes", {})
    for referrer in set(found.values()):
        if referrer not in own_codes:
            own_codes[referrer] = codes.encode(key, referrer)
    now, actor = uow.now(), uow.actor
    rows = [
        {
            "friend_id": c.id,
            "referrer_id": found[i],
            "code": own_codes[found[i]],
            "source": "signup",
            "attached_at": now,
            "attached_by": actor,
            "device": None,
            "phone_digest": _digest(min(c.phones)) if c.phones else None,
            "status": "pending",
            "spent_minor": 0,
            "qualified_at": None,
            "interaction_id": None,
            "program_version": None,
        }
        for i, c in enumerate(coded)
    ]
    ids = insert_with_ids(uow.session, Referral.__table__, rows)
    uow.audit_many(
        "attach",
        "referral",
        [
            (
                rid,
                {"friend": r["friend_id"], "referrer": r["referrer_id"], "source": "signup"},
                None,
            )
            for rid, r in zip(ids, rows)
        ],
    )
    if not uow.listened("referrals_referral_attached"):  # the outbox rows only
        uow.record_events(
            "referrals_referral_attached",
            [(r["friend_id"], referral_to_dict(_Row(**r))) for r in rows],
        )
        return len(rows)
    session = (
        uow.session
    )  # its implementations read ORM referrals and customers: one query per table
    referrals = {
        r.id: r
        for part in _chunks(ids)
        for r in session.scalars(select(Referral).where(Referral.id.in_(part)))
    }
    people: dict[int, Customer] = {}
    wanted = sorted({r["friend_id"] for r in rows} | {r["referrer_id"] for r in rows})
    for part in _chunks(wanted):
        people.update(
            {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(part)))}
        )
    for rid, r in zip(ids, rows):
        referral = referrals[rid]
        uow.emit(
            "referrals_referral_attached",
            customer_id=referral.friend_id,
            data=referral_to_dict(referral),
            referral=referral,
            friend=people[referral.friend_id],
            referrer=people[referral.referrer_id],
        )
    return len(rows)


class _Row:
    """A referral row just inserted (with its id), shaped for :func:`.service.referral_to_dict`."""

    def __init__(self, **values: Any):
        self.__dict__.update(values)


def purchases(uow, interactions) -> None:
    """``crm_interactions_recorded``: the batch's buyers with a pending referral, found with one
    query, are qualified purchase by purchase as live (the row lock, the program's rules); refunds
    as live."""
    from . import service

    buyers = sorted({i.customer_id for i in interactions if i.kind == "purchase"})
    pending: set[int] = set()
    for part in _chunks(buyers):
        pending |= set(
            uow.session.scalars(
                select(Referral.friend_id).where(
                    Referral.friend_id.in_(part), Referral.status == "pending"
                )
            )
        )
    for i in interactions:
        if i.kind == "purchase" and i.customer_id in pending:
            service.on_purchase(uow, i, uow.session.get(Customer, i.customer_id))
        elif i.kind == "refund" and i.related_id is not None:
            service.on_refund(uow, i)
