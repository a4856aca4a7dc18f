"""Users, roles, per-plugin permissions, login sessions and API tokens (the service behind ``crm users`` and the
admin pages). Every change is written to the audit log with the acting user."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from ..errors import Conflict, NotFound, ValidationError
from .contrib import LEVELS
from .models import ApiToken, UserTeam, UserTeamMember, WebSession, WebUser

#: role → the access level it grants everywhere (unless a per-plugin permission says otherwise)
ROLES = {"admin": "admin", "manager": "manage", "agent": "write", "read-only": "read"}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "crm_"


def rank(level: str) -> int:
    return LEVELS.index(level)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- users ----------------------------------------------------------------------------------------------
def clean_username(raw: str) -> str:
    name = (raw or "").strip().lower()
    if not USERNAME.match(name):
        raise ValidationError(
            f"{raw!r} is not a username (2-60 of a-z, 0-9, '.', '_', '-'; starting with a letter "
            "or digit)",
            field="username",
        )
    return name


def check_password(password: str | None) -> str:
    if not password or len(password) < MIN_PASSWORD:
        raise ValidationError(
            f"the password must have at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > 200:
        raise ValidationError("the password is longer than 200 characters", field="password")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"{role!r} is not a role ({', '.join(ROLES)})", field="role")
    return role


def get_user(session, username: str) -> WebUser:
    user = session.scalar(
        select(WebUser).where(WebUser.username == (username or "").strip().lower())
    )
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def add_user(
    uow,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    extension: str | None = None,
    locale: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    notify: str | list[str] | None = None,
) -> WebUser:
    from ..services.notifications import clean_contact, parse_channels

    name = clean_username(username)
    check_role(role)
    check_password(password)
    if locale not in (None, "fa", "en"):
        raise ValidationError(f"{locale!r} is not a language (fa or en)", field="locale")
    if uow.session.scalar(select(WebUser.id).where(WebUser.username == name)) is not None:
        raise Conflict(f"the user {name!r} already exists", field="username")
    user = WebUser(
        username=name,
        display_name=(display_name or "").strip() or None,
        role=role,
        permissions={},
        password_hash=hash_password(password),
        extension=(extension or "").strip() or None,
        locale=locale,
        active=True,
        created_at=uow.now(),
    )
    user.email, user.phone = clean_contact(email, phone)
    user.notify_channels = parse_channels(notify)
    uow.session.add(user)
    uow.session.flush()
    uow.audit("create", "web_user", name, {"role": role})
    return user


def update_user(
    uow,
    username: str,
    *,
    role: str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    extension: str | None = None,
    locale: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    notify: str | list[str] | None = None,
) -> WebUser:
    """Change a user; ``None`` leaves a field, ``""`` clears display name, extension, email, phone
    or the notification channels (back to every channel the user has an address for). Deactivating
    a user or changing their role ends their sessions."""
    from ..services.notifications import clean_contact, parse_channels

    user = get_user(uow.session, username)
    was_admin = user.role == "admin" and user.active
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        changes["role"] = [user.role, check_role(role)]
        user.role = role
    if active is not None and bool(active) != user.active:
        changes["active"] = [user.active, bool(active)]
        user.active = bool(active)
    if display_name is not None:
        new = display_name.strip() or None
        if new != user.display_name:
            changes["display_name"] = [user.display_name, new]
            user.display_name = new
    if extension is not None:
        new = extension.strip() or None
        if new != user.extension:
            changes["extension"] = [user.extension, new]
            user.extension = new
    for name, raw in (("email", email), ("phone", phone)):
        if raw is not None:
            new = clean_contact(raw, None)[0] if name == "email" else clean_contact(None, raw)[1]
            if new != getattr(user, name):
                changes[name] = [getattr(user, name), new]
                setattr(user, name, new)
    if notify is not None:
        new_channels = parse_channels(notify)
        if new_channels != user.notify_channels:
            changes["notify"] = [user.notify_channels, new_channels]
            user.notify_channels = new_channels
    if locale is not None:
        if locale not in ("fa", "en", ""):
            raise ValidationError(f"{locale!r} is not a language (fa or en)", field="locale")
        if (locale or None) != user.locale:
            changes["locale"] = [user.locale, locale or None]
            user.locale = locale or None
    if changes:
        if was_admin:
            _refuse_last_admin(uow, user)
        if "role" in changes or "active" in changes:
            end_sessions(uow, user)
        uow.audit("update", "web_user", user.username, changes)
    return user


def _refuse_last_admin(uow, user: WebUser) -> None:
    """``user`` was an active admin: refuse when the change leaves nobody able to manage users."""
    if user.role == "admin" and user.active:
        return
    other = uow.session.scalars(
        select(WebUser.id).where(
            WebUser.role == "admin", WebUser.active.is_(True), WebUser.id != user.id
        )
    ).first()
    if other is None:
        raise Conflict(
            f"{user.username} is the last active admin; make another user admin first", field="role"
        )


def set_password(uow, username: str, password: str) -> WebUser:
    """A new password ends every session and revokes every API token of the user: whoever learnt the
    old password may have made a token with it."""
    user = get_user(uow.session, username)
    user.password_hash = hash_password(check_password(password))
    end_sessions(uow, user)
    revoked = _revoke_all(uow, user)
    uow.audit(
        "set_password",
        "web_user",
        user.username,
        {"sessions_ended": True, "tokens_revoked": revoked},
    )
    return user


def set_permission(uow, username: str, plugin: str, level: str) -> WebUser:
    """Give ``username`` the level ``level`` for ``plugin`` (``none`` hides it); ``inherit`` drops the grant."""
    user = get_user(uow.session, username)
    plugin = (plugin or "").strip()
    if not plugin:
        raise ValidationError("name a plugin", field="plugin")
    if level != "inherit" and level not in LEVELS[:-1]:
        raise ValidationError(
            f"{level!r} is not a permission ({', '.join(LEVELS[:-1])} or inherit)", field="level"
        )
    perms = dict(user.permissions or {})
    old = perms.get(plugin, "inherit")
    if level == "inherit":
        perms.pop(plugin, None)
    else:
        perms[plugin] = level
    user.permissions = perms
    uow.audit(
        "set_permission", "web_user", user.username, {"plugin": plugin, "level": [old, level]}
    )
    return user


def delete_user(uow, username: str) -> None:
    user = get_user(uow.session, username)
    if user.role == "admin" and user.active:
        user.active = False
        _refuse_last_admin(uow, user)
    uow.session.delete(user)
    uow.audit("delete", "web_user", user.username, {})


def user_to_dict(user: WebUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "level": ROLES[user.role],
        "permissions": dict(user.permissions or {}),
        "extension": user.extension,
        "locale": user.locale,
        "active": user.active,
        "email": user.email,
        "phone": user.phone,
        "notify": user.notify_channels,
        "created_at": user.created_at.isoformat() if user.created_at else None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def list_users(session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.username)))


# --- logging in -----------------------------------------------------------------------------------------
_DUMMY_HASH: list[str] = []


def authenticate(uow, username: str, password: str) -> WebUser | None:
    """The active user with this password, else ``None`` (the same work is done for unknown users)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    user = uow.session.scalar(
        select(WebUser).where(WebUser.username == (username or "").strip().lower())
    )
    if user is None or not user.active:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hasher.hash("not a password of anyone"))
        try:
            hasher.verify(_DUMMY_HASH[0], password or "-")
        except VerificationError:
            pass
        return None
    try:
        hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = uow.now()
    return user


def create_session(
    uow, user: WebUser, *, hours: float, client: str | None = None
) -> tuple[str, WebSession]:
    raw = secrets.token_urlsafe(32)
    now = uow.now()
    row = WebSession(
        id_hash=digest(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        client=(client or "")[:100] or None,
    )
    uow.session.add(row)
    uow.session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at < now)
    )
    uow.audit("login", "web_user", user.username, {"client": row.client})
    return raw, row


def find_session(session, raw: str, now: datetime) -> tuple[WebUser, WebSession] | None:
    row = session.get(WebSession, digest(raw))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(WebUser, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(uow, raw: str) -> None:
    row = uow.session.get(WebSession, digest(raw))
    if row is not None:
        user = uow.session.get(WebUser, row.user_id)
        uow.session.delete(row)
        uow.audit("logout", "web_user", user.username if user else row.user_id, {})


def end_sessions(uow, user: WebUser) -> None:
    uow.session.execute(delete(WebSession).where(WebSession.user_id == user.id))


# --- API tokens -----------------------------------------------------------------------------------------
LIFETIME = re.compile(r"^([0-9]{1,5})\s*([hdw]?)$")
LIFETIME_UNITS = {"h": "hours", "d": "days", "w": "weeks", "": "days"}
MAX_LIFETIME = timedelta(days=3660)


def parse_lifetime(text: str | None, *, field: str = "expires") -> timedelta | None:
    """``90d``, ``12h``, ``4w`` or a number of days (Persian digits too); empty: no expiry."""
    from ..domain.text import to_ascii_digits

    raw = to_ascii_digits((text or "").strip().lower())
    if not raw:
        return None
    found = LIFETIME.match(raw)
    if not found or int(found.group(1)) == 0:
        raise ValidationError(
            f"{text!r} is not a lifetime: write e.g. 90d (days), 12h (hours) or 4w (weeks)",
            field=field,
        )
    lifetime = timedelta(**{LIFETIME_UNITS[found.group(2)]: int(found.group(1))})
    if lifetime > MAX_LIFETIME:
        raise ValidationError(
            f"{text!r} is longer than ten years; leave it empty for no expiry", field=field
        )
    return lifetime


def create_token(
    uow, username: str, name: str, *, level: str | None = None, expires: timedelta | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``username`` (shown once; only its digest is stored). ``level`` defaults to
    the user's; ``expires``: how long it works (none: until revoked)."""
    user = get_user(uow.session, username)
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationError(
            "name the token (1-100 characters), e.g. the integration using it", field="name"
        )
    role_level = ROLES[user.role]
    level = level or role_level
    if level not in LEVELS[1:]:
        raise ValidationError(
            f"{level!r} is not a token level ({', '.join(LEVELS[1:])})", field="level"
        )
    if rank(level) > rank(role_level):
        raise ValidationError(
            f"a token cannot exceed its user's level ({role_level})", field="level"
        )
    if (
        uow.session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name)
        )
        is not None
    ):
        raise Conflict(f"{user.username} already has a token named {name!r}", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = uow.now()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(secret),
        level=level,
        created_at=now,
        expires_at=now + expires if expires else None,
    )
    uow.session.add(token)
    uow.session.flush()
    uow.audit(
        "create_token",
        "web_user",
        user.username,
        {"token": name, "level": level, "expires_at": _iso(token.expires_at)},
    )
    return token, secret


def revoke_token(uow, username: str, name: str) -> ApiToken:
    user = get_user(uow.session, username)
    token = uow.session.scalar(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == name)
    )
    if token is None:
        raise NotFound(f"{user.username} has no token named {name!r}", field="name")
    if token.revoked_at is None:
        token.revoked_at = uow.now()
        uow.audit("revoke_token", "web_user", user.username, {"token": name})
    return token


def revoke_tokens(uow, username: str) -> int:
    """Revoke every token of ``username`` still working; returns how many."""
    user = get_user(uow.session, username)
    count = _revoke_all(uow, user)
    uow.audit("revoke_tokens", "web_user", user.username, {"tokens_revoked": count})
    return count


def _revoke_all(uow, user: WebUser) -> int:
    now = uow.now()
    live = [t for t in user.tokens if t.revoked_at is None]
    for token in live:
        token.revoked_at = now
    return len(live)


def find_token(session, secret: str, now: datetime) -> tuple[WebUser, ApiToken] | None:
    """The working token with this secret and its active user, else ``None`` (unknown, revoked,
    expired)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    user = session.get(WebUser, token.user_id)
    if user is None or not user.active:
        return None
    return user, token


def token_state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def token_to_dict(token: ApiToken, now: datetime) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "level": token.level,
        "created_at": _iso(token.created_at),
        "last_used_at": _iso(token.last_used_at),
        "expires_at": _iso(token.expires_at),
        "revoked": token.revoked_at is not None,
        "state": token_state(token, now),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- teams (record rules' "team" scope) -----------------------------------------------------------
def _team_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name or len(name) > 100:
        raise ValidationError("name the team (1-100 characters)", field="team")
    return name


def get_team(session, name: str) -> UserTeam:
    team = session.scalar(select(UserTeam).where(UserTeam.name == " ".join((name or "").split())))
    if team is None:
        names = session.scalars(select(UserTeam.name).order_by(UserTeam.name))
        known = ", ".join(names) or "none yet"
        raise NotFound(f"no team {name!r} (teams: {known})", field="team")
    return team


def add_team(uow, name: str) -> UserTeam:
    name = _team_name(name)
    if uow.session.scalar(select(UserTeam.id).where(UserTeam.name == name)) is not None:
        raise Conflict(f"the team {name!r} already exists", field="team")
    team = UserTeam(name=name, created_at=uow.now())
    uow.session.add(team)
    uow.session.flush()
    uow.audit("create", "team", name, {})
    return team


def remove_team(uow, name: str) -> None:
    """Delete a team; its customers keep their owners and lose the team."""
    team = get_team(uow.session, name)
    uow.session.delete(team)
    uow.session.flush()
    uow.audit("delete", "team", team.name, {})


def set_membership(uow, team_name: str, username: str, member: bool) -> UserTeam:
    team = get_team(uow.session, team_name)
    user = get_user(uow.session, username)
    row = uow.session.get(UserTeamMember, (team.id, user.id))
    if member and row is None:
        uow.session.add(UserTeamMember(team_id=team.id, user_id=user.id))
        uow.audit("join", "team", team.name, {"user": user.username})
    elif not member and row is not None:
        uow.session.delete(row)
        uow.audit("leave", "team", team.name, {"user": user.username})
    uow.session.flush()
    return team


def list_teams(session) -> list[dict[str, Any]]:
    members: dict[int, list[str]] = {}
    for team_id, username in session.execute(
        select(UserTeamMember.team_id, WebUser.username)
        .join(WebUser, WebUser.id == UserTeamMember.user_id)
        .order_by(WebUser.username)
    ):
        members.setdefault(team_id, []).append(username)
    return [
        {"name": t.name, "members": members.get(t.id, [])}
        for t in session.scalars(select(UserTeam).order_by(UserTeam.name))
    ]
