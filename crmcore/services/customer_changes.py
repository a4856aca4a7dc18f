"""What a change to a customer changes, worked out before anything is written.

:func:`plan_update` holds the rules of :func:`crmcore.services.customers.update_customer`: which fields may
change and how their values are cleaned, phones, emails and tags added and removed in order (a new phone's
position is the count before it), attributes merged, and the ``changes`` that the audit entry and the
``crm_customer_updated`` event record. ``update_customer`` applies the plan to the ORM customer; an import
applies the plans of thousands of merges to rows read and written with Core statements
(:mod:`crmcore.importing.stored`). One set of rules, two ways of writing.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterable

import attrs

from ..domain.dates import check_birthday, local_today, parse_date
from ..domain.emails import email_address
from ..domain.phones import Phone, parse_phone
from ..domain.text import check_text, normalize
from ..errors import Conflict, NotFound, ValidationError
from .attributes import clean_attributes

KINDS = ("person", "organisation")


@attrs.define
class CustomerUpdate:
    """The outcome of :func:`plan_update`.

    ``columns``: the customer's columns that get a new value (``search_key`` follows a given name even when
    only its normalised form differs). ``phones_added`` are ``(phone, position)``; the ``*_removed`` lists
    name the rows to drop, each the first row with that value. ``changes`` is empty when nothing changes."""

    columns: dict[str, Any] = attrs.field(factory=dict)
    changes: dict[str, list[Any]] = attrs.field(factory=dict)
    phones_added: list[tuple[Phone, int]] = attrs.field(factory=list)
    phones_removed: list[str] = attrs.field(factory=list)
    emails_added: list[tuple[str, int]] = attrs.field(factory=list)
    emails_removed: list[str] = attrs.field(factory=list)
    tags_added: list[str] = attrs.field(factory=list)
    tags_removed: list[str] = attrs.field(factory=list)


def jsonable(value: Any) -> Any:
    """A value as ``changes`` records it (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def clean_tag(tag: str) -> str:
    t = normalize(check_text(tag, "tag")).replace(" ", "-")
    if not t:
        raise ValidationError(f"{tag!r} is not a tag", field="tag")
    return t


def plan_update(
    uow,
    customer,
    phones: list[str],
    emails: list[str],
    tags: list[str],
    *,
    external_id_owner: Callable[[str, int], int | None],
    name: str | None = None,
    add_phones: Iterable[str | Phone] = (),
    remove_phones: Iterable[str] = (),
    add_emails: Iterable[str] = (),
    remove_emails: Iterable[str] = (),
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    attributes: dict[str, Any] | None = None,
    **fields: Any,
) -> CustomerUpdate:
    """Plan a change of ``customer`` (anything with the customer's column attributes: the ORM model or an
    import's stored row) whose phones, emails and tags are the given values in position order.

    Arguments as :func:`crmcore.services.customers.update_customer` takes them; ``add_phones`` may also
    hold already parsed :class:`Phone` values. ``external_id_owner(code, customer_id)`` names another
    customer holding ``code``, if any. Raises :class:`ValidationError`, :class:`Conflict` or
    :class:`NotFound` as ``update_customer`` does; reads nothing else and changes nothing."""
    plan = CustomerUpdate()
    columns, changes = plan.columns, plan.changes

    def change(field: str, new: Any) -> None:
        old = getattr(customer, field)
        if old != new:
            changes[field] = [jsonable(old), jsonable(new)]
            columns[field] = new

    if name is not None:
        display = " ".join(check_text(name, "name").split())
        if not display:
            raise ValidationError("a name is required", field="name")
        change("display_name", display)
        search_key = normalize(display)[:300]
        if search_key != customer.search_key:
            columns["search_key"] = search_key
    for field, raw in fields.items():
        if raw is None:
            continue
        if field == "kind":
            if raw not in KINDS:
                raise ValidationError(
                    f"{raw!r} is not a customer kind ({', '.join(KINDS)})", field="kind"
                )
            change("kind", raw)
        elif field == "external_id":
            ext = check_text(str(raw), "external_id").strip() or None
            if ext:
                other = external_id_owner(ext, customer.id)
                if other is not None:
                    raise Conflict(
                        f"external id {ext!r} already belongs to customer {other}",
                        field="external_id",
                    )
            change("external_id", ext)
        elif field == "birthday":
            change(
                "birthday",
                None
                if raw == ""
                else check_birthday(
                    parse_date(raw, field="birthday"), local_today(uow.now(), uow.app.timezone)
                ),
            )
        elif field in ("city", "address", "owner"):
            change(field, " ".join(check_text(str(raw), field).split()) or None)
        elif field in ("consent_sms", "consent_email"):
            change(field, bool(raw))
        else:
            raise ValidationError(f"unknown customer field {field!r}", field=field)
    _plan_list(
        plan.phones_added,
        plan.phones_removed,
        changes,
        customer.id,
        "phone",
        list(phones),
        add_phones,
        remove_phones,
        lambda raw: raw if isinstance(raw, Phone) else parse_phone(raw),
        lambda raw: parse_phone(raw).e164,
        key=lambda ph: ph.e164,
    )
    _plan_list(
        plan.emails_added,
        plan.emails_removed,
        changes,
        customer.id,
        "email",
        list(emails),
        add_emails,
        remove_emails,
        email_address,
        email_address,
    )
    current_tags = list(tags)
    for raw in add_tags:
        t = clean_tag(raw)
        if t not in current_tags:
            current_tags.append(t)
            plan.tags_added.append(t)
            changes.setdefault("tags_added", []).append(t)
    for raw in remove_tags:
        t = clean_tag(raw)
        if t in current_tags:  # removing a tag the customer does not have is no error
            current_tags.remove(t)
            plan.tags_removed.append(t)
            changes.setdefault("tags_removed", []).append(t)
    if attributes:
        cleaned = clean_attributes(uow, attributes)
        merged = dict(customer.attributes or {})
        for k, v in cleaned.items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        change("attributes", merged)
    return plan


def _plan_list(
    added: list,
    removed: list[str],
    changes: dict,
    customer_id: int,
    what: str,
    current: list[str],
    add: Iterable,
    remove: Iterable,
    parse_added: Callable[[Any], Any],
    parse_removed: Callable[[Any], str],
    key: Callable[[Any], str] = lambda value: value,
) -> None:
    """Phones or emails: each new value goes last (its position is the count before it), then removals
    drop the first row holding each value; removing a value the customer lacks is :class:`NotFound`."""
    for raw in add:
        value = parse_added(raw)
        k = key(value)
        if k not in current:
            added.append((value, len(current)))
            current.append(k)
            changes.setdefault(f"{what}s_added", []).append(k)
    for raw in remove:
        k = parse_removed(raw)
        if k not in current:
            raise NotFound(f"customer {customer_id} has no {what} {k}", field=what)
        current.remove(k)
        removed.append(k)
        changes.setdefault(f"{what}s_removed", []).append(k)
