"""Customers: add, update, look up, merge and forget."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

import attrs
from sqlalchemy import select, update

from ..domain.dates import check_birthday, local_today, parse_date, utcnow
from ..domain.emails import email_address
from ..domain.phones import Phone, parse_phone
from ..domain.text import check_text, find_control, normalize, search_tokens
from ..errors import Conflict, NotFound, ValidationError
from ..storage.customer_data import erase_declared, repoint_declared
from ..storage.engine import release_erased_pages
from ..storage.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    Interaction,
)
from ..storage.tokens import add_tokens, remove_tokens
from .access import check_customer, default_assignment
from .attributes import clean_attributes
from .customer_changes import KINDS, clean_tag, jsonable, plan_update
from .erasure import merged_away_ids, plugin_packages, scrub_kernel_records, scrub_merged_away


@attrs.frozen(
    slots=False
)  # an instance dict: cheaper to build than slots (benchmarks/row_checks.py)
class PreparedCustomer:
    """A customer's fields validated and normalised, before any database access (import uses it row by row)."""

    name: str
    kind: str = "person"
    phones: tuple[Phone, ...] = ()
    emails: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    external_id: str | None = None
    birthday: date | None = None
    city: str | None = None
    address: str | None = None
    owner: str | None = None
    consent_sms: bool = False
    consent_email: bool = False
    attributes: dict[str, Any] = attrs.field(factory=dict)


def prepare_customer(
    *,
    name: str | None,
    kind: str = "person",
    phones: Iterable[str | Phone] = (),
    emails: Iterable[str] = (),
    tags: Iterable[str] = (),
    external_id: str | None = None,
    birthday: str | date | None = None,
    city: str | None = None,
    address: str | None = None,
    owner: str | None = None,
    consent_sms: bool = False,
    consent_email: bool = False,
    attributes: dict[str, Any] | None = None,
    today: date | None = None,
) -> PreparedCustomer:
    """Validate and normalise every field; raise :class:`ValidationError` naming the first bad field.

    ``phones`` are raw text or already parsed :class:`Phone` values (an importer parses them its own
    way). ``today``: the local date a birthday may not be after (:func:`customer_today`; by default
    the clock's in Tehran)."""
    # one search over the text fields: the row check is on an import's hot path
    if find_control(f"{name or ''}{external_id or ''}{city or ''}{address or ''}{owner or ''}"):
        for field, text in (
            ("name", name),
            ("external_id", external_id),
            ("city", city),
            ("address", address),
            ("owner", owner),
        ):
            if text:
                check_text(text, field)
    display = " ".join((name or "").split())
    if not display:
        raise ValidationError("a name is required", field="name")
    if len(display) > 300:
        raise ValidationError("the name is longer than 300 characters", field="name")
    if kind not in KINDS:
        raise ValidationError(f"{kind!r} is not a customer kind ({', '.join(KINDS)})", field="kind")
    parsed_phones: list[Phone] = []
    for raw in phones:
        p = raw if isinstance(raw, Phone) else parse_phone(raw)
        if not parsed_phones or p.e164 not in {x.e164 for x in parsed_phones}:
            parsed_phones.append(p)
    parsed_emails: list[str] = []
    for raw in emails:
        e = email_address(raw)
        if e not in parsed_emails:
            parsed_emails.append(e)
    ext = (external_id or "").strip() or None
    if ext and len(ext) > 100:
        raise ValidationError("the external id is longer than 100 characters", field="external_id")
    if birthday is None or birthday == "":
        bday = None
    else:
        bday = birthday if type(birthday) is date else parse_date(birthday, field="birthday")
        check_birthday(bday, today or local_today(utcnow()))
    return PreparedCustomer(
        name=display,
        kind=kind,
        phones=tuple(parsed_phones),
        emails=tuple(parsed_emails),
        tags=tuple(dict.fromkeys(map(clean_tag, tags))) if tags else (),
        external_id=ext,
        birthday=bday,
        city=(" ".join(city.split()) or None) if city else None,
        address=(address or "").strip() or None,
        owner=(owner or "").strip() or None,
        consent_sms=bool(consent_sms),
        consent_email=bool(consent_email),
        attributes=dict(attributes or {}),
    )


def customer_today(uow) -> date:
    """The day it is for this unit of work, in the application's time zone: no birthday may be after
    it."""
    return local_today(uow.now(), uow.app.timezone)


def _validate_with_plugins(
    uow, customer: Customer, changes: dict[str, Any], change: dict[str, Any] | None = None
) -> None:
    errors: list[str] = []
    for result in uow.call("crm_validate_customer", customer=customer, changes=changes):
        errors.extend(result or ())
    if uow.importing is not None and change is not None:  # an import's merge: the batch form too
        from ..batches import batch_refusals

        record = _change_record(customer, change)
        for messages in batch_refusals(uow, [record], uow.importing, list).values():
            errors.extend(messages)
    if errors:
        raise ValidationError("; ".join(errors))


def _index_name(session, customer_id: int, name: str) -> None:
    remove_tokens(session, [customer_id])
    add_tokens(session, [(customer_id, t) for t in search_tokens(name)], index_order=None)


def add_customer(uow, prepared: PreparedCustomer | None = None, **fields: Any) -> Customer:
    """Create a customer from a :class:`PreparedCustomer` or from raw fields (see :func:`prepare_customer`)."""
    p = prepared or prepare_customer(**{"today": customer_today(uow), **fields})
    session = uow.session
    if p.external_id is not None:
        existing = session.scalar(select(Customer.id).where(Customer.external_id == p.external_id))
        if existing is not None:
            raise Conflict(
                f"external id {p.external_id!r} already belongs to customer {existing}",
                field="external_id",
            )
    attributes = clean_attributes(uow, p.attributes) if p.attributes else {}
    now = uow.now()
    owner_id, team_id = default_assignment(uow)
    customer = Customer(
        owner_id=owner_id,
        team_id=team_id,
        kind=p.kind,
        display_name=p.name,
        search_key=normalize(p.name)[:300],
        external_id=p.external_id,
        birthday=p.birthday,
        city=p.city,
        address=p.address,
        owner=p.owner,
        consent_sms=p.consent_sms,
        consent_email=p.consent_email,
        attributes=attributes,
        created_at=now,
        updated_at=now,
    )
    customer.phones = [
        CustomerPhone(e164=ph.e164, kind=ph.kind, position=i) for i, ph in enumerate(p.phones)
    ]
    customer.emails = [CustomerEmail(email=e, position=i) for i, e in enumerate(p.emails)]
    customer.tags = [CustomerTag(tag=t) for t in p.tags]
    _validate_with_plugins(uow, customer, customer_to_dict(customer, with_sections=False))
    session.add(customer)
    session.flush()
    _index_name(session, customer.id, p.name)
    uow.audit("create", "customer", customer.id, {"name": p.name}, customer_id=customer.id)
    uow.emit(
        "crm_customer_created",
        customer_id=customer.id,
        data={"customer_id": customer.id, "name": p.name},
        customer=customer,
    )
    return customer


def get_customer(
    session, customer_id: int | str, *, follow_merges: bool = True, allow_forgotten: bool = False
) -> Customer:
    """The customer with this id (following merges to the survivor) or :class:`NotFound`."""
    try:
        cid = int(str(customer_id).strip())
    except ValueError:
        raise NotFound(f"{customer_id!r} is not a customer id", field="customer") from None
    customer = session.get(Customer, cid)
    if customer is None:
        raise NotFound(f"no customer with id {cid}", field="customer")
    seen = {cid}
    while follow_merges and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
        if customer.id in seen:  # pragma: no cover - defensive
            break
        seen.add(customer.id)
    if customer.forgotten_at is not None and not allow_forgotten:
        raise NotFound(f"customer {cid} was forgotten at their request", field="customer")
    return customer


def resolve_customer(session, ref: str | int) -> Customer:
    """Find a customer by id, external id, phone (any format) or email, as a CLI argument gives it."""
    text = str(ref).strip()
    if text.isdigit() and len(text) < 10:
        found = session.get(Customer, int(text))
        if found is not None:
            return get_customer(session, found.id)
    cid = session.scalar(select(Customer.id).where(Customer.external_id == text))
    if cid is not None:
        return get_customer(session, cid)
    if "@" in text:
        cid = session.scalar(
            select(CustomerEmail.customer_id).where(CustomerEmail.email == text.lower()).limit(1)
        )
        if cid is not None:
            return get_customer(session, cid)
    else:
        try:
            e164 = parse_phone(text).e164
        except ValidationError:
            e164 = None
        if e164:
            cid = session.scalar(
                select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164).limit(1)
            )
            if cid is not None:
                return get_customer(session, cid)
    raise NotFound(
        f"no customer matches {text!r} (id, external id, phone or email)", field="customer"
    )


def update_customer(
    uow,
    customer_id: int,
    *,
    name: str | None = None,
    add_phones: Iterable[str | Phone] = (),
    remove_phones: Iterable[str] = (),
    add_emails: Iterable[str] = (),
    remove_emails: Iterable[str] = (),
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    attributes: dict[str, Any] | None = None,
    flush: bool = True,
    **fields: Any,
) -> Customer:
    """Change a customer. ``fields`` may hold kind, external_id, birthday, city, address, owner, consent_sms,
    consent_email (``None`` leaves a field as it is; ``""`` clears it). ``add_phones`` may hold parsed
    :class:`Phone` values. The rules live in :func:`crmcore.services.customer_changes.plan_update`.

    ``flush=False`` leaves writing the changed rows to the session's next flush: for callers that change
    many customers in a row and have already ruled out conflicts (the importer flushes once per batch)."""
    session = uow.session
    customer = get_customer(session, customer_id, follow_merges=False)
    check_customer(uow, customer, "write")
    if customer.merged_into_id is not None:
        raise Conflict(
            f"customer {customer.id} was merged into {customer.merged_into_id}; change that one"
        )
    plan = plan_update(
        uow,
        customer,
        [p.e164 for p in customer.phones],
        [e.email for e in customer.emails],
        [t.tag for t in customer.tags],
        external_id_owner=lambda code, cid: session.scalar(
            select(Customer.id).where(Customer.external_id == code, Customer.id != cid)
        ),
        name=name,
        add_phones=add_phones,
        remove_phones=remove_phones,
        add_emails=add_emails,
        remove_emails=remove_emails,
        add_tags=add_tags,
        remove_tags=remove_tags,
        attributes=attributes,
        **fields,
    )
    for column, value in plan.columns.items():
        setattr(customer, column, value)
    for ph, position in plan.phones_added:
        customer.phones.append(CustomerPhone(e164=ph.e164, kind=ph.kind, position=position))
    for e164 in plan.phones_removed:
        customer.phones.remove(next(p for p in customer.phones if p.e164 == e164))
    for email, position in plan.emails_added:
        customer.emails.append(CustomerEmail(email=email, position=position))
    for email in plan.emails_removed:
        customer.emails.remove(next(e for e in customer.emails if e.email == email))
    customer.tags.extend(CustomerTag(tag=t) for t in plan.tags_added)
    for tag in plan.tags_removed:
        customer.tags.remove(next(t for t in customer.tags if t.tag == tag))
    changes = plan.changes
    if not changes:
        return customer
    _validate_with_plugins(
        uow,
        customer,
        {
            k: v[1]
            if isinstance(v, list) and len(v) == 2 and not k.endswith(("added", "removed"))
            else v
            for k, v in changes.items()
        },
        changes,
    )
    customer.updated_at = uow.now()
    if flush:
        session.flush()
    if "display_name" in changes:
        _index_name(session, customer.id, customer.display_name)
    uow.audit("update", "customer", customer.id, changes, customer_id=customer.id)
    uow.emit(
        "crm_customer_updated",
        customer_id=customer.id,
        data={"customer_id": customer.id, "changes": changes},
        customer=customer,
        changes=changes,
    )
    if uow.importing is not None:
        uow.imported_changes.append(_change_record(customer, changes))
    return customer


def _change_record(customer: Customer, changes: dict[str, Any]):
    from ..batches import CustomerChange

    return CustomerChange(
        customer.id,
        changes,
        tuple(p.e164 for p in customer.phones),
        tuple(e.email for e in customer.emails),
        dict(customer.attributes or {}),
    )


def merge_customers(uow, keep_id: int, other_id: int) -> Customer:
    """Merge ``other`` into ``keep``: fill keep's empty fields, add phones/emails/tags, move
    interactions, call ``crm_customers_merged`` (plugins combine what must be combined), re-point
    the plugins' rows as their models declare (:mod:`crmcore.storage.customer_data`), and leave
    ``other`` as a tombstone."""
    session = uow.session
    keep = get_customer(session, keep_id, follow_merges=False)
    other = get_customer(session, other_id, follow_merges=False)
    if keep.id == other.id:
        raise ValidationError("a customer cannot be merged with itself", field="customer")
    check_customer(uow, keep, "write")
    check_customer(uow, other, "write")
    for c in (keep, other):
        if c.merged_into_id is not None:
            raise Conflict(
                f"customer {c.id} was already merged into {c.merged_into_id}", field="customer"
            )
    filled: dict[str, Any] = {}
    for field in ("birthday", "city", "address", "owner"):
        if getattr(keep, field) in (None, "") and getattr(other, field) not in (None, ""):
            setattr(keep, field, getattr(other, field))
            filled[field] = jsonable(getattr(other, field))
    if keep.external_id is None and other.external_id is not None:
        ext, other.external_id = other.external_id, None
        session.flush()
        keep.external_id = ext
        filled["external_id"] = ext
    keep.consent_sms = keep.consent_sms or other.consent_sms
    keep.consent_email = keep.consent_email or other.consent_email
    attrs_merged = dict(other.attributes or {})
    attrs_merged.update(keep.attributes or {})
    keep.attributes = attrs_merged
    for p in list(other.phones):
        if p.e164 not in {x.e164 for x in keep.phones}:
            keep.phones.append(CustomerPhone(e164=p.e164, kind=p.kind, position=len(keep.phones)))
    for e in list(other.emails):
        if e.email not in {x.email for x in keep.emails}:
            keep.emails.append(CustomerEmail(email=e.email, position=len(keep.emails)))
    for t in list(other.tags):
        if t.tag not in {x.tag for x in keep.tags}:
            keep.tags.append(CustomerTag(tag=t.tag))
    other.phones.clear()
    other.emails.clear()
    other.tags.clear()
    _validate_with_plugins(uow, keep, filled)
    session.flush()
    moved = session.execute(
        update(Interaction).where(Interaction.customer_id == other.id).values(customer_id=keep.id)
    ).rowcount
    remove_tokens(session, [other.id])
    other.merged_into_id = keep.id
    keep.updated_at = other.updated_at = uow.now()
    session.flush()
    uow.audit(
        "merge",
        "customer",
        keep.id,
        {"merged": other.id, "filled": filled, "interactions_moved": moved},
        customer_id=keep.id,
    )
    uow.emit(
        "crm_customers_merged",
        customer_id=keep.id,
        data={"kept": keep.id, "merged": other.id},
        kept=keep,
        merged=other,
    )
    # after the hooks: they drain buffered rows and combine balances before the rows move
    repoint_declared(session, plugin_packages(uow.app), keep.id, other.id)
    return keep


def forget_customer(uow, customer_id: int) -> Customer:
    """Erase a customer's personal data; keep anonymised aggregates (interaction kinds, amounts, dates)."""
    session = uow.session
    customer = get_customer(session, customer_id, follow_merges=False)
    check_customer(uow, customer, "write")
    if customer.merged_into_id is not None:
        raise Conflict(
            f"customer {customer.id} was merged into {customer.merged_into_id}; forget that one"
        )
    cid = customer.id
    customer.display_name = f"forgotten customer #{cid}"
    customer.search_key = ""
    customer.external_id = None
    customer.birthday = None
    customer.city = None
    customer.address = None
    customer.owner = None
    customer.consent_sms = customer.consent_email = False
    customer.attributes = {}
    customer.phones.clear()
    customer.emails.clear()
    customer.tags.clear()
    customer.forgotten_at = uow.now()
    remove_tokens(session, [cid])
    # merged-away tombstones of this person hold their old data too, and so do the kernel's
    # records of them
    merged_away = merged_away_ids(session, cid)
    scrub_merged_away(session, merged_away)
    scrub_kernel_records(session, [cid, *merged_away])
    session.flush()
    erase_declared(session, plugin_packages(uow.app), [cid, *merged_away])
    uow.audit("forget", "customer", cid, {"erased": True}, customer_id=cid)
    uow.emit(
        "crm_customer_forgotten", customer_id=cid, data={"customer_id": cid}, customer=customer
    )
    uow.after_commit(lambda: release_erased_pages(uow.app.engine))
    return customer


def _assigned(customer: Customer) -> dict[str, str | None]:
    from sqlalchemy.orm import object_session

    from .access import assignment_of

    session = object_session(customer)
    if session is None or (customer.owner_id is None and customer.team_id is None):
        return {"user": None, "team": None}
    return assignment_of(session, customer)


def customer_to_dict(
    customer: Customer,
    *,
    calendar: str = "gregorian",
    tz: str | None = None,
    with_sections: bool = True,
    uow=None,
) -> dict[str, Any]:
    """The JSON form of a customer (``crm customers show --json``, the API)."""
    from ..domain.dates import DEFAULT_TIMEZONE, format_date

    data: dict[str, Any] = {
        "id": customer.id,
        "kind": customer.kind,
        "name": customer.display_name,
        "phones": [{"e164": p.e164, "kind": p.kind} for p in customer.phones],
        "emails": [e.email for e in customer.emails],
        "tags": [t.tag for t in customer.tags],
        "external_id": customer.external_id,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "city": customer.city,
        "address": customer.address,
        "owner": customer.owner,
        "assigned": _assigned(customer),
        "consent": {"sms": bool(customer.consent_sms), "email": bool(customer.consent_email)},
        "attributes": dict(customer.attributes or {}),
        "created_at": customer.created_at.isoformat() if customer.created_at else None,
        "merged_into": customer.merged_into_id,
        "forgotten": customer.forgotten_at is not None,
    }
    if calendar == "jalali" and customer.birthday:
        data["birthday_jalali"] = format_date(
            customer.birthday, "jalali", tz=tz or DEFAULT_TIMEZONE
        )
    if with_sections and uow is not None:
        from .profile import profile_sections

        data["sections"] = {s.key: s.json() for s in profile_sections(uow, customer)}
    return data
