"""Sales reps and fair round-robin assignment.

Round-robin hands each new lead or deal to the active rep whose last turn is the oldest (never-assigned reps
first, then by id). Adding or deactivating reps never skips anyone: a newcomer takes the next turn, a
returning rep waits for the ones who waited longer. Explicit assignments do not use up a turn.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from crmcore.api import Conflict, NotFound, ValidationError

from .models import SalesRep
from .values import parse_name

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def add_rep(uow, username: str, name: str) -> SalesRep:
    user = (username or "").strip()
    if not _USERNAME.match(user):
        raise ValidationError(
            f"{username!r} is not a username (letters, digits, '.', '_', '@', '-')",
            field="username",
        )
    if uow.session.scalar(select(SalesRep.id).where(SalesRep.username == user)) is not None:
        raise Conflict(f"a sales rep {user!r} already exists", field="username")
    rep = SalesRep(
        username=user, name=parse_name(name), active=True, last_assigned_seq=0, created_at=uow.now()
    )
    uow.session.add(rep)
    uow.session.flush()
    uow.audit("create", "pipeline_rep", rep.id, {"username": user, "name": rep.name})
    return rep


def get_rep(uow, username: str, *, field: str = "owner") -> SalesRep:
    rep = uow.session.scalar(select(SalesRep).where(SalesRep.username == (username or "").strip()))
    if rep is None:
        known = (
            ", ".join(uow.session.scalars(select(SalesRep.username).order_by(SalesRep.username)))
            or "none yet"
        )
        raise NotFound(f"unknown sales rep {username!r} (reps: {known})", field=field)
    return rep


def set_rep_active(uow, username: str, active: bool) -> SalesRep:
    rep = get_rep(uow, username, field="username")
    if rep.active != active:
        rep.active = active
        uow.audit("update", "pipeline_rep", rep.id, {"active": [not active, active]})
    uow.session.flush()
    return rep


def list_reps(uow, *, include_inactive: bool = True) -> list[SalesRep]:
    q = select(SalesRep).order_by(SalesRep.username)
    if not include_inactive:
        q = q.where(SalesRep.active.is_(True))
    return list(uow.session.scalars(q))


def next_rep(uow) -> SalesRep | None:
    """Take the next round-robin turn: the active rep waiting longest (``None`` when no rep is active)."""
    session = uow.session
    # lock every active rep, then choose: a concurrent assignment waits and sees the updated turns
    active = session.scalars(
        select(SalesRep)
        .where(SalesRep.active.is_(True))
        .order_by(SalesRep.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if not active:
        return None
    rep = min(active, key=lambda r: (r.last_assigned_seq, r.id))
    top = session.scalar(select(func.max(SalesRep.last_assigned_seq))) or 0
    rep.last_assigned_seq = top + 1
    session.flush()
    return rep


def choose_owner(uow, owner: str | None, *, round_robin: bool = True) -> SalesRep | None:
    """The explicit owner (who must be active), else the next round-robin rep, else nobody."""
    if owner:
        rep = get_rep(uow, owner)
        if not rep.active:
            raise ValidationError(
                f"sales rep {rep.username!r} is inactive; activate them or choose another",
                field="owner",
            )
        return rep
    return next_rep(uow) if round_robin else None


def rep_to_dict(rep: SalesRep) -> dict:
    return {"username": rep.username, "name": rep.name, "active": bool(rep.active)}
