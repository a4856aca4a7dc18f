"""Record rules: whose records a user may read and write. The rule lives here, once.

A customer has an owner (a user) and a team. Each role has a *scope* per access kind (``read``,
``write``):

* ``all``  — every record;
* ``team`` — records the user owns, records of a team they belong to, records owned by a teammate;
* ``own``  — records the user owns.

Records with neither owner nor team are *unassigned*: everyone's (a shared queue, the default) or,
with ``crm users scope --unassigned private``, reachable only under ``all``. Defaults: every role
reads all; admins and managers write all; agents write their team's. Admins always have ``all``
(nobody can lock the administrators out). Settings live in ``crm_settings`` (namespace ``access``).

Plugins apply the same rule to their records through :func:`assignee_clause` /
:func:`check_assignee` (a record assigned to a username: a deal's rep, a ticket's agent). The rule
applies to a unit of work that acts for a user (``uow.viewer``, set by ``crm web`` and ``crm
customers export --as``); a unit of work without a viewer (the command line, jobs, workers) is
unrestricted.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import and_, false, or_, select

from ..errors import Forbidden, NotFound, ValidationError

NAMESPACE = "access"
ACCESS_KINDS = ("read", "write")
SCOPES = ("all", "team", "own")
UNASSIGNED = ("shared", "private")
DEFAULT_SCOPES: dict[str, dict[str, str]] = {
    "admin": {"read": "all", "write": "all"},
    "manager": {"read": "all", "write": "all"},
    "agent": {"read": "all", "write": "team"},
    "read-only": {"read": "all", "write": "own"},
}


@attrs.frozen
class Viewer:
    """The user a unit of work acts for."""

    user_id: int
    username: str
    role: str


@attrs.frozen
class Reach:
    """Whose records a viewer reaches for one access kind: everyone's (``everyone``), else those
    owned by ``user_ids`` (``usernames``) or shared with ``team_ids``, and the unassigned ones when
    ``unassigned``."""

    everyone: bool
    user_ids: frozenset[int] = frozenset()
    usernames: frozenset[str] = frozenset()
    team_ids: frozenset[int] = frozenset()
    unassigned: bool = False
    scope: str = "all"


def viewer_for(session, username: str) -> Viewer:
    """The viewer acting as the active user ``username``."""
    from ..web.models import WebUser

    name = (username or "").strip().lower()
    user = session.scalar(select(WebUser).where(WebUser.username == name))
    if user is None or not user.active:
        raise ValidationError(f"no active user {username!r}", field="user")
    return Viewer(user.id, user.username, user.role)


# --- settings -------------------------------------------------------------------------------------
def role_scopes(uow) -> dict[str, Any]:
    """``{role: {"read": scope, "write": scope}, "unassigned": "shared"|"private"}``, defaults
    filled in."""
    from .settings import settings_of

    stored = settings_of(uow, NAMESPACE)
    result: dict[str, Any] = {}
    for role, default in DEFAULT_SCOPES.items():
        given = stored.get(role) if isinstance(stored.get(role), dict) else {}
        chosen = {k: given.get(k, v) for k, v in default.items()}
        result[role] = chosen if role != "admin" else dict(default)
    result["unassigned"] = stored.get("unassigned", "shared")
    return result


def set_role_scope(
    uow, role: str, *, read: str | None = None, write: str | None = None
) -> dict[str, str]:
    """Change a role's scopes (``None`` keeps one); admins stay ``all``."""
    if role not in DEFAULT_SCOPES:
        raise ValidationError(f"{role!r} is not a role ({', '.join(DEFAULT_SCOPES)})", field="role")
    if role == "admin":
        raise ValidationError("admins always reach every record", field="role")
    current = dict(role_scopes(uow)[role])
    for kind, value in (("read", read), ("write", write)):
        if value is None:
            continue
        if value not in SCOPES:
            raise ValidationError(f"{value!r} is not a scope ({', '.join(SCOPES)})", field=kind)
        current[kind] = value
    from .settings import set_setting

    set_setting(uow, NAMESPACE, role, current)
    uow.cache.pop("crmcore.access", None)
    return current


def set_unassigned(uow, value: str) -> None:
    if value not in UNASSIGNED:
        raise ValidationError(
            f"{value!r} is not a choice ({', '.join(UNASSIGNED)})", field="unassigned"
        )
    from .settings import set_setting

    set_setting(uow, NAMESPACE, "unassigned", value)
    uow.cache.pop("crmcore.access", None)


# --- the rule -------------------------------------------------------------------------------------
def reach(uow, access: str = "read") -> Reach:
    """Whose records the unit of work's viewer may ``access`` (``read`` or ``write``): the rule."""
    if access not in ACCESS_KINDS:
        raise ValueError(f"access must be read or write, not {access!r}")
    viewer = getattr(uow, "viewer", None)
    if viewer is None:
        return Reach(everyone=True)
    cache = uow.cache.setdefault("crmcore.access", {})
    if access in cache:
        return cache[access]
    scopes = role_scopes(uow)
    scope = scopes.get(viewer.role, DEFAULT_SCOPES["read-only"])[access]
    unassigned = scopes["unassigned"] == "shared"
    if scope == "all":
        found = Reach(everyone=True)
    elif scope == "own":
        found = Reach(
            everyone=False,
            user_ids=frozenset({viewer.user_id}),
            usernames=frozenset({viewer.username}),
            unassigned=unassigned,
            scope=scope,
        )
    else:
        from ..web.models import UserTeamMember, WebUser

        teams = frozenset(
            uow.session.scalars(
                select(UserTeamMember.team_id).where(UserTeamMember.user_id == viewer.user_id)
            )
        )
        mates = (
            uow.session.execute(
                select(WebUser.id, WebUser.username)
                .join(UserTeamMember, UserTeamMember.user_id == WebUser.id)
                .where(UserTeamMember.team_id.in_(teams))
            ).all()
            if teams
            else []
        )
        found = Reach(
            everyone=False,
            user_ids=frozenset({viewer.user_id, *(i for i, _ in mates)}),
            usernames=frozenset({viewer.username, *(n for _, n in mates)}),
            team_ids=teams,
            unassigned=unassigned,
            scope=scope,
        )
    cache[access] = found
    return found


def customer_clause(uow, access: str = "read"):
    """A clause over ``customers`` selecting what the viewer may ``access``; ``None``: all."""
    from ..storage.models import Customer

    r = reach(uow, access)
    if r.everyone:
        return None
    terms = [Customer.owner_id.in_(sorted(r.user_ids))]
    if r.team_ids:
        terms.append(Customer.team_id.in_(sorted(r.team_ids)))
    if r.unassigned:
        terms.append(and_(Customer.owner_id.is_(None), Customer.team_id.is_(None)))
    return or_(*terms)


def customer_allowed(uow, customer, access: str = "read") -> bool:
    r = reach(uow, access)
    if r.everyone:
        return True
    if customer.owner_id is None and customer.team_id is None:
        return r.unassigned
    return customer.owner_id in r.user_ids or customer.team_id in r.team_ids


def check_customer(uow, customer, access: str = "read") -> None:
    """Raise :class:`Forbidden` unless the viewer may ``access`` this customer."""
    if not customer_allowed(uow, customer, access):
        r = reach(uow, access)
        whose = "your own" if r.scope == "own" else "your own or your team's"
        raise Forbidden(
            f"customer {customer.id} is not yours to {access}: you may {access} {whose} customers",
            field="customer",
        )


def assignee_clause(uow, access: str, username_column):
    """A clause over a plugin's records selecting those the viewer may ``access``, given the column
    holding the assignee's username (NULL: unassigned); ``None`` when unrestricted."""
    r = reach(uow, access)
    if r.everyone:
        return None
    terms = [username_column.in_(sorted(r.usernames))]
    if r.unassigned:
        terms.append(username_column.is_(None))
    return or_(*terms) if terms else false()


def check_assignee(uow, access: str, username: str | None, what: str) -> None:
    """Raise :class:`Forbidden` unless the viewer may ``access`` a record (``what``, e.g. "deal 12")
    assigned to ``username`` (``None``: unassigned)."""
    r = reach(uow, access)
    if r.everyone or (r.unassigned if username is None else username in r.usernames):
        return
    whose = "your own" if r.scope == "own" else "your own or your team's"
    raise Forbidden(
        f"{what} is assigned to {username or 'nobody'}: you may {access} only {whose}",
        field="assignee",
    )


# --- ownership ------------------------------------------------------------------------------------
def default_assignment(uow) -> tuple[int | None, int | None]:
    """``(owner_id, team_id)`` of a customer the viewer creates: the viewer, and their team when
    they belong to exactly one."""
    viewer = getattr(uow, "viewer", None)
    if viewer is None:
        return None, None
    from ..web.models import UserTeamMember

    teams = list(
        uow.session.scalars(
            select(UserTeamMember.team_id).where(UserTeamMember.user_id == viewer.user_id).limit(2)
        )
    )
    return viewer.user_id, teams[0] if len(teams) == 1 else None


def assign_customer(uow, customer_id: int, *, user: str | None = None, team: str | None = None):
    """Give a customer to ``user`` and/or ``team`` (``""`` clears one, ``None`` keeps it). The
    viewer must be allowed to write the customer as it is now."""
    from ..web.models import UserTeam, WebUser
    from .customers import get_customer

    customer = get_customer(uow.session, customer_id)
    check_customer(uow, customer, "write")
    changes: dict[str, Any] = {}
    if user is not None:
        found = None
        if user.strip():
            name = user.strip().lower()
            found = uow.session.scalar(select(WebUser).where(WebUser.username == name))
            if found is None:
                raise NotFound(f"no user {user!r}", field="user")
        if (found.id if found else None) != customer.owner_id:
            changes["owner"] = [
                _username(uow, customer.owner_id),
                found.username if found else None,
            ]
            customer.owner_id = found.id if found else None
    if team is not None:
        found_team = None
        if team.strip():
            team_name = " ".join(team.split())
            found_team = uow.session.scalar(select(UserTeam).where(UserTeam.name == team_name))
            if found_team is None:
                raise NotFound(f"no team {team!r}", field="team")
        if (found_team.id if found_team else None) != customer.team_id:
            changes["team"] = [
                _team_name(uow, customer.team_id),
                found_team.name if found_team else None,
            ]
            customer.team_id = found_team.id if found_team else None
    if changes:
        customer.updated_at = uow.now()
        uow.session.flush()
        uow.audit("assign", "customer", customer.id, changes, customer_id=customer.id)
    return customer


def _username(uow, user_id: int | None) -> str | None:
    from ..web.models import WebUser

    if user_id is None:
        return None
    return uow.session.scalar(select(WebUser.username).where(WebUser.id == user_id))


def _team_name(uow, team_id: int | None) -> str | None:
    from ..web.models import UserTeam

    if team_id is None:
        return None
    return uow.session.scalar(select(UserTeam.name).where(UserTeam.id == team_id))


def assignment_of(session, customer) -> dict[str, str | None]:
    """``{"user": username, "team": name}`` of a customer (for its JSON form)."""
    from ..web.models import UserTeam, WebUser

    user = (
        session.scalar(select(WebUser.username).where(WebUser.id == customer.owner_id))
        if customer.owner_id is not None
        else None
    )
    team = (
        session.scalar(select(UserTeam.name).where(UserTeam.id == customer.team_id))
        if customer.team_id is not None
        else None
    )
    return {"user": user, "team": team}
