"""Family groups (گروه خانواده): create, invite, accept or decline, leave. A customer belongs to at most one
family; the one who created it owns it, and ownership passes to the longest-standing member when the owner
leaves. The group is dissolved when its last member leaves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crmcore.api import Conflict, NotFound, ValidationError, check_text, get_customer

from .models import Family, FamilyInvitation, FamilyMember


def _active(uow, customer_id: int, field: str):
    customer = get_customer(uow.session, customer_id)
    if not customer.active:
        raise Conflict(f"customer {customer_id} is merged or forgotten", field=field)
    return customer


def membership(uow, customer_id: int) -> FamilyMember | None:
    return uow.session.scalar(select(FamilyMember).where(FamilyMember.customer_id == customer_id))


def _not_in_family(uow, customer_id: int, field: str) -> None:
    current = membership(uow, customer_id)
    if current is not None:
        name = uow.session.get(Family, current.family_id).name
        raise Conflict(
            f"customer {customer_id} already belongs to the family «{name}» (#{current.family_id}); "
            "a member belongs to one family at most: leave it first",
            field=field,
        )


def get_family(uow, family_id: int, *, lock: bool = False) -> Family:
    query = select(Family).where(Family.id == family_id)
    if lock:
        query = query.with_for_update()
    family = uow.session.scalar(query)
    if family is None or family.dissolved_at is not None:
        raise NotFound(
            f"no family group with id {family_id}" + (" (it was dissolved)" if family else ""),
            field="family",
        )
    return family


def members(uow, family_id: int) -> list[FamilyMember]:
    return list(
        uow.session.scalars(
            select(FamilyMember)
            .where(FamilyMember.family_id == family_id)
            .order_by(FamilyMember.joined_at, FamilyMember.id)
        )
    )


def create(uow, owner_id: int, name: str) -> Family:
    _active(uow, owner_id, "customer")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("a family group needs a name", field="name")
    check_text(name, "name")
    _not_in_family(uow, owner_id, "customer")
    now = uow.now()
    family = Family(name=name.strip()[:200], owner_id=owner_id, created_at=now)
    uow.session.add(family)
    uow.session.flush()
    uow.session.add(
        FamilyMember(family_id=family.id, customer_id=owner_id, role="owner", joined_at=now)
    )
    uow.session.flush()
    uow.audit("create", "transfers_family", family.id, {"name": family.name}, customer_id=owner_id)
    uow.emit(
        "transfers_family_joined",
        customer_id=owner_id,
        data={"family_id": family.id, "role": "owner"},
    )
    return family


def invite(uow, inviter_id: int, invitee_id: int) -> FamilyInvitation:
    mine = membership(uow, inviter_id)
    if mine is None:
        raise Conflict(
            f"customer {inviter_id} is not in a family group; create one first", field="inviter"
        )
    _active(uow, invitee_id, "customer")
    if invitee_id == inviter_id:
        raise ValidationError("a member cannot invite themselves", field="customer")
    _not_in_family(uow, invitee_id, "customer")
    existing = uow.session.scalar(
        select(FamilyInvitation).where(
            FamilyInvitation.family_id == mine.family_id,
            FamilyInvitation.customer_id == invitee_id,
            FamilyInvitation.status == "open",
        )
    )
    if existing is not None:
        raise Conflict(
            f"customer {invitee_id} already has an open invitation (#{existing.id}) to this family",
            field="customer",
        )
    invitation = FamilyInvitation(
        family_id=mine.family_id,
        customer_id=invitee_id,
        invited_by_id=inviter_id,
        status="open",
        created_at=uow.now(),
    )
    uow.session.add(invitation)
    uow.session.flush()
    uow.audit(
        "invite",
        "transfers_family",
        mine.family_id,
        {"customer": invitee_id},
        customer_id=invitee_id,
    )
    return invitation


def _open_invitation(uow, customer_id: int, family_id: int | None) -> FamilyInvitation:
    query = select(FamilyInvitation).where(
        FamilyInvitation.customer_id == customer_id, FamilyInvitation.status == "open"
    )
    if family_id is not None:
        query = query.where(FamilyInvitation.family_id == family_id)
    found = list(uow.session.scalars(query.order_by(FamilyInvitation.id)))
    if not found:
        where = f" to family #{family_id}" if family_id is not None else ""
        raise NotFound(f"customer {customer_id} has no open invitation{where}", field="customer")
    if len(found) > 1:
        raise ValidationError(
            f"customer {customer_id} has open invitations to families "
            f"{', '.join('#' + str(i.family_id) for i in found)}; name one with --family",
            field="family",
        )
    return found[0]


def accept(uow, customer_id: int, family_id: int | None, *, max_members: int) -> FamilyMember:
    _active(uow, customer_id, "customer")
    invitation = _open_invitation(uow, customer_id, family_id)
    family = get_family(uow, invitation.family_id, lock=True)  # serialises joins to one family
    _not_in_family(uow, customer_id, "customer")
    size = uow.session.scalar(
        select(func.count()).select_from(FamilyMember).where(FamilyMember.family_id == family.id)
    )
    if size >= max_members:
        raise Conflict(
            f"the family «{family.name}» already has {size} members, the most the club allows",
            field="family",
        )
    now = uow.now()
    invitation.status, invitation.answered_at = "accepted", now
    member = FamilyMember(
        family_id=family.id, customer_id=customer_id, role="member", joined_at=now
    )
    uow.session.add(member)
    uow.session.flush()
    uow.audit("join", "transfers_family", family.id, {}, customer_id=customer_id)
    uow.emit(
        "transfers_family_joined",
        customer_id=customer_id,
        data={"family_id": family.id, "role": "member"},
    )
    return member


def decline(uow, customer_id: int, family_id: int | None) -> FamilyInvitation:
    invitation = _open_invitation(uow, customer_id, family_id)
    invitation.status, invitation.answered_at = "declined", uow.now()
    uow.audit("decline", "transfers_family", invitation.family_id, {}, customer_id=customer_id)
    return invitation


def leave(uow, customer_id: int) -> Family:
    member = membership(uow, customer_id)
    if member is None:
        raise NotFound(f"customer {customer_id} is not in a family group", field="customer")
    family = get_family(uow, member.family_id, lock=True)
    uow.session.delete(member)
    uow.session.flush()
    rest = members(uow, family.id)
    if not rest:
        family.dissolved_at, family.owner_id = uow.now(), None
        for invitation in uow.session.scalars(
            select(FamilyInvitation).where(
                FamilyInvitation.family_id == family.id, FamilyInvitation.status == "open"
            )
        ):
            invitation.status, invitation.answered_at = "withdrawn", uow.now()
    elif member.role == "owner":
        rest[0].role = "owner"
        family.owner_id = rest[0].customer_id
    uow.audit(
        "leave", "transfers_family", family.id, {"role": member.role}, customer_id=customer_id
    )
    uow.emit("transfers_family_left", customer_id=customer_id, data={"family_id": family.id})
    return family


def family_to_dict(uow, family: Family) -> dict[str, Any]:
    from crmcore.api import Customer

    rows = members(uow, family.id)
    names = (
        {
            c.id: c.display_name
            for c in uow.session.scalars(
                select(Customer).where(Customer.id.in_([m.customer_id for m in rows]))
            )
        }
        if rows
        else {}
    )
    invitations = uow.session.scalars(
        select(FamilyInvitation)
        .where(FamilyInvitation.family_id == family.id, FamilyInvitation.status == "open")
        .order_by(FamilyInvitation.id)
    )
    return {
        "id": family.id,
        "name": family.name,
        "owner_id": family.owner_id,
        "created_at": family.created_at.isoformat(),
        "dissolved_at": family.dissolved_at.isoformat() if family.dissolved_at else None,
        "members": [
            {
                "customer_id": m.customer_id,
                "name": names.get(m.customer_id),
                "role": m.role,
                "joined_at": m.joined_at.isoformat(),
            }
            for m in rows
        ],
        "open_invitations": [
            {
                "id": i.id,
                "customer_id": i.customer_id,
                "invited_by": i.invited_by_id,
                "created_at": i.created_at.isoformat(),
            }
            for i in invitations
        ],
    }
