"""Leads from the public form (``/forms/lead``): a new visitor becomes a customer tagged ``lead``; a
visitor whose phone or email is already stored never changes that customer by themselves.

An anonymous form cannot prove who sent it: filing "a known phone with a new email" under the
customer would let anyone attach their own email (or phone) to someone else's record and so receive
their messages or pass as them on a call. Such a submission is kept as a
:class:`~crmcore.storage.models.PendingLead` linked to the matched customer until a person decides:
accepting adds its phone, email and message to the customer (and tells the plugins, as for a new
lead); rejecting drops it. Every step is in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from ..domain.dates import DEFAULT_TIMEZONE, format_datetime
from ..errors import NotFound
from ..storage.models import PendingLead
from .customers import add_customer, get_customer, update_customer
from .duplicate_contacts import contact_matches
from .interactions import record_interaction

LEAD_TAGS = ("lead", "web-form")


def file_lead(uow, fields: dict[str, Any]):
    """Store a cleaned submission (``name``, ``phone``, ``email``, ``message``, ``source``,
    ``page``).

    Returns ``(customer, True)`` for a new customer, ``(pending lead, False)`` when it matched one.
    """
    session = uow.session
    phones, emails = _listed(fields["phone"]), _listed(fields["email"])
    matches = contact_matches(session, phones, emails)
    if not matches:
        customer = add_customer(
            uow, name=fields["name"], phones=phones, emails=emails, tags=list(LEAD_TAGS)
        )
        _file_message(uow, customer, fields)
        uow.call("crm_web_lead_received", customer=customer, created=True, form=dict(fields))
        return customer, True
    cid, matched_by = matches[0].customer_id, matches[0].by
    lead = PendingLead(
        customer_id=cid,
        matched_by=matched_by,
        name=fields["name"],
        phone=fields["phone"] or None,
        email=fields["email"] or None,
        message=fields["message"] or "",
        source=fields["source"] or None,
        page=fields["page"] or None,
        received_at=uow.now(),
    )
    session.add(lead)
    session.flush()
    uow.audit(
        "hold",
        "pending_lead",
        lead.id,
        {"matched_by": matched_by, "source": lead.source},
        customer_id=cid,
    )
    return lead, False


def _listed(value: str | None) -> list[str]:
    return [value] if value else []


def _file_message(uow, customer, fields: dict[str, Any], at=None) -> None:
    payload = {
        "text": fields["message"],
        "source": fields["source"],
        "page": fields["page"],
        "name_given": fields["name"],
    }
    record_interaction(
        uow,
        customer,
        kind="note",
        channel="web-form",
        direction="in",
        occurred_at=at,
        payload=payload,
    )


def pending_leads(session, *, limit: int = 200) -> list[PendingLead]:
    """The submissions waiting for a decision, oldest first."""
    return list(session.scalars(select(PendingLead).order_by(PendingLead.id).limit(limit)))


def get_pending_lead(session, lead_id: int | str) -> PendingLead:
    try:
        lid = int(str(lead_id).strip())
    except ValueError:
        raise NotFound(f"{lead_id!r} is not a pending lead id", field="lead") from None
    lead = session.get(PendingLead, lid)
    if lead is None:
        raise NotFound(f"no pending lead {lid} (already accepted or rejected?)", field="lead")
    return lead


def accept_lead(uow, lead_id: int | str):
    """Add the submission's phone, email and message to the customer it matched (the survivor, if
    that one was merged since); tag them ``lead``; tell the plugins (``created=False``). Returns the
    customer."""
    lead = get_pending_lead(uow.session, lead_id)
    customer = get_customer(uow.session, lead.customer_id)
    fields = _fields(lead)
    customer = update_customer(
        uow,
        customer.id,
        add_tags=["lead"],
        add_phones=_listed(lead.phone),
        add_emails=_listed(lead.email),
    )
    _file_message(uow, customer, fields, at=lead.received_at)
    uow.audit(
        "accept",
        "pending_lead",
        lead.id,
        {"phone": lead.phone, "email": lead.email},
        customer_id=customer.id,
    )
    uow.session.delete(lead)
    uow.call("crm_web_lead_received", customer=customer, created=False, form=fields)
    return customer


def reject_lead(uow, lead_id: int | str) -> None:
    """Drop the submission; the customer stays as it was. The audit entry keeps the contacts it
    tried to add."""
    lead = get_pending_lead(uow.session, lead_id)
    tried = {"phone": lead.phone, "email": lead.email, "matched_by": lead.matched_by}
    uow.audit("reject", "pending_lead", lead.id, tried, customer_id=lead.customer_id)
    uow.session.delete(lead)


def forget_pending_leads(uow, customer_id: int) -> None:
    uow.session.execute(delete(PendingLead).where(PendingLead.customer_id == customer_id))


def _fields(lead: PendingLead) -> dict[str, Any]:
    return {
        "name": lead.name,
        "phone": lead.phone or "",
        "email": lead.email or "",
        "message": lead.message,
        "source": lead.source or "",
        "page": lead.page or "",
    }


def lead_to_dict(
    session, lead: PendingLead, *, calendar: str = "gregorian", tz: str = DEFAULT_TIMEZONE
) -> dict[str, Any]:
    """A pending lead with the customer it matched (their name and current phones and emails, to
    compare)."""
    customer = get_customer(session, lead.customer_id)
    return {
        "id": lead.id,
        "received_at": lead.received_at.isoformat(),
        "received": format_datetime(lead.received_at, calendar, tz=tz),
        "matched_by": lead.matched_by,
        "name": lead.name,
        "phone": lead.phone,
        "email": lead.email,
        "message": lead.message,
        "source": lead.source,
        "page": lead.page,
        "customer": {
            "id": customer.id,
            "name": customer.display_name,
            "phones": [p.e164 for p in customer.phones],
            "emails": [e.email for e in customer.emails],
        },
    }
