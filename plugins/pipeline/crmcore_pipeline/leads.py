"""Leads: unqualified prospects with a source, assigned to a rep, converted to deals or disqualified."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from crmcore.api import (
    Conflict,
    Customer,
    NotFound,
    ValidationError,
    add_customer,
    parse_email,
    parse_phone,
    resolve_customer,
)

from .catalog import get_source
from .deals import create_deal
from .models import LEAD_STATUSES, Deal, Lead
from .reps import choose_owner, get_rep
from .values import optional_text, parse_name


def create_lead(
    uow,
    *,
    title: str,
    source: str,
    contact_name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    company: str | None = None,
    customer: Customer | int | str | None = None,
    owner: str | None = None,
    round_robin: bool = True,
    note: str | None = None,
) -> Lead:
    """Record a lead. It needs a way to reach someone: a contact name, phone, email, company or customer."""
    title = parse_name(title, field="title", limit=300)
    src = get_source(uow, source) if source else None
    if src is None:
        raise ValidationError(
            "a lead needs a source (website, referral, exhibition, phone, social, campaign…)",
            field="source",
        )
    cust = None
    if customer not in (None, ""):
        cust = (
            customer if isinstance(customer, Customer) else resolve_customer(uow.session, customer)
        )
    contact = optional_text(contact_name, field="contact_name", limit=300)
    comp = optional_text(company, field="company", limit=300)
    e164 = parse_phone(phone).e164 if phone else None
    mail = parse_email(email).address if email else None
    if not any((contact, comp, e164, mail, cust)):
        raise ValidationError(
            "a lead needs someone to reach: --name, --phone, --email, --company or --customer",
            field="contact_name",
        )
    lead = Lead(
        title=title,
        contact_name=contact,
        phone=e164,
        email=mail,
        company=comp,
        source=src,
        customer_id=cust.id if cust else None,
        status="new",
        note=optional_text(note, field="note"),
        created_at=uow.now(),
    )
    lead.owner = choose_owner(uow, owner, round_robin=round_robin)
    uow.session.add(lead)
    uow.session.flush()
    uow.audit(
        "create",
        "pipeline_lead",
        lead.id,
        {"title": title, "source": src.code},
        customer_id=lead.customer_id,
    )
    uow.emit(
        "pipeline_lead_created",
        customer_id=lead.customer_id,
        data={
            "lead_id": lead.id,
            "title": title,
            "source": src.code,
            "owner": lead.owner.username if lead.owner else None,
        },
    )
    return lead


def get_lead(uow, lead_id: int | str, *, lock: bool = False) -> Lead:
    try:
        lid = int(str(lead_id).strip())
    except ValueError:
        raise NotFound(f"{lead_id!r} is not a lead id", field="lead") from None
    q = select(Lead).where(Lead.id == lid)
    if lock:
        q = q.with_for_update()
    lead = uow.session.scalar(q)
    if lead is None:
        raise NotFound(f"no lead with id {lid}", field="lead")
    return lead


def _require_new(uow, lead: Lead) -> None:
    if lead.status == "converted":
        deal_id = uow.session.scalar(select(Deal.id).where(Deal.lead_id == lead.id))
        raise Conflict(f"lead {lead.id} was already converted (deal {deal_id})", field="lead")
    if lead.status == "disqualified":
        raise Conflict(f"lead {lead.id} was disqualified ({lead.disqualify_reason})", field="lead")


def _customer_for(uow, lead: Lead, customer: Customer | int | str | None) -> tuple[Customer, bool]:
    """The given customer, the lead's, an existing one with the lead's phone or email, or a new one."""
    if customer not in (None, ""):
        return (
            customer if isinstance(customer, Customer) else resolve_customer(uow.session, customer)
        ), False
    if lead.customer_id is not None:
        return resolve_customer(uow.session, lead.customer_id), False
    for ref in (lead.phone, lead.email):
        if ref:
            try:
                return resolve_customer(uow.session, ref), False
            except NotFound:
                pass
    name = lead.contact_name or lead.company or lead.title
    kind = "organisation" if not lead.contact_name and lead.company else "person"
    created = add_customer(
        uow,
        name=name,
        kind=kind,
        phones=[lead.phone] if lead.phone else [],
        emails=[lead.email] if lead.email else [],
    )
    return created, True


def convert_lead(
    uow,
    lead_id: int | str,
    *,
    customer: Customer | int | str | None = None,
    title: str | None = None,
    amount: str | int | None = None,
    currency: str | None = None,
    expected_close: str | date | None = None,
    pipeline: str | None = None,
    stage: str | None = None,
    probability: str | int | None = None,
    owner: str | None = None,
) -> tuple[Lead, Deal, bool]:
    """Turn a lead into a deal (and into a customer when it has none). Returns (lead, deal, customer created)."""
    lead = get_lead(uow, lead_id, lock=True)
    _require_new(uow, lead)
    cust, created = _customer_for(uow, lead, customer)
    deal = create_deal(
        uow,
        customer=cust,
        title=title or lead.title,
        amount=amount,
        currency=currency,
        expected_close=expected_close,
        pipeline=pipeline,
        stage=stage,
        owner=owner,
        probability=probability,
        lead=lead,
        note=lead.note,
    )
    lead.status = "converted"
    lead.customer_id = cust.id
    lead.closed_at = uow.now()
    uow.session.flush()
    uow.audit(
        "convert",
        "pipeline_lead",
        lead.id,
        {"deal": deal.id, "customer": cust.id, "customer_created": created},
        customer_id=cust.id,
    )
    return lead, deal, created


def disqualify_lead(uow, lead_id: int | str, *, reason: str) -> Lead:
    lead = get_lead(uow, lead_id, lock=True)
    _require_new(uow, lead)
    why = optional_text(reason, field="reason", limit=500)
    if not why:
        raise ValidationError("say why the lead is disqualified (--reason)", field="reason")
    lead.status = "disqualified"
    lead.disqualify_reason = why
    lead.closed_at = uow.now()
    uow.session.flush()
    uow.audit("disqualify", "pipeline_lead", lead.id, {"reason": why}, customer_id=lead.customer_id)
    return lead


def list_leads(
    uow, *, status: str | None = "new", source: str | None = None, owner: str | None = None
) -> list[Lead]:
    q = select(Lead).order_by(Lead.id)
    if status not in (None, "all"):
        if status not in LEAD_STATUSES:
            raise ValidationError(
                f"{status!r} is not a lead status ({', '.join(LEAD_STATUSES)}, all)", field="status"
            )
        q = q.where(Lead.status == status)
    if source:
        q = q.where(Lead.source_id == get_source(uow, source).id)
    if owner:
        q = q.where(Lead.owner_id == get_rep(uow, owner).id)
    return list(uow.session.scalars(q))


def lead_to_dict(uow, lead: Lead) -> dict[str, Any]:
    deal_id = (
        uow.session.scalar(select(Deal.id).where(Deal.lead_id == lead.id))
        if lead.status == "converted"
        else None
    )
    return {
        "id": lead.id,
        "title": lead.title,
        "contact_name": lead.contact_name,
        "phone": lead.phone,
        "email": lead.email,
        "company": lead.company,
        "source": lead.source.code,
        "source_name": lead.source.name,
        "customer_id": lead.customer_id,
        "owner": lead.owner.username if lead.owner else None,
        "status": lead.status,
        "note": lead.note,
        "disqualify_reason": lead.disqualify_reason,
        "deal_id": deal_id,
        "created_at": lead.created_at.isoformat(),
        "closed_at": lead.closed_at.isoformat() if lead.closed_at else None,
    }


#: the source of web-form leads whose ``?source=`` names no lead source
WEB_FORM_SOURCE = "website"


def lead_from_web_form(uow, customer: Customer, form: dict[str, Any]) -> Lead:
    """A lead for a visitor of the public lead form, filed under ``customer``.

    Its source is the lead source the form's ``source`` names (its code or name: embed the form
    with ``?source=exhibition``, or add your own: ``crm pipeline sources add nowruz-landing …``);
    any other value files it under ``website`` and keeps the value in the note."""
    from .catalog import ensure_defaults

    ensure_defaults(uow)
    tag = (form.get("source") or "").strip()
    try:
        source = get_source(uow, tag) if tag else get_source(uow, WEB_FORM_SOURCE)
        unknown = None
    except NotFound:
        source, unknown = get_source(uow, WEB_FORM_SOURCE), tag
    message = (form.get("message") or "").strip()
    first = message.splitlines()[0].strip() if message else ""
    name = (form.get("name") or "").strip()
    title = first[:120] or (f"فرم وب: {name}" if name else f"فرم وب: {customer.display_name}")
    notes = [message] if message else []
    if unknown:
        notes.append(f"form source: {unknown}")
    if form.get("page"):
        notes.append(f"page: {form['page']}")
    return create_lead(
        uow,
        title=title,
        source=source.code,
        contact_name=name or None,
        phone=form.get("phone") or None,
        email=form.get("email") or None,
        customer=customer,
        note="\n".join(notes) or None,
    )
