"""Who is calling: a browser session (cookie) or an API token (``Authorization: Bearer crm_…``), and what they
may do: the role's level, a per-plugin grant replacing it for that plugin, capped by the token's level."""

from __future__ import annotations

import hmac
from typing import Any

import attrs

from .contrib import LEVELS
from .users import ROLES, find_session, find_token, rank

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@attrs.frozen
class Principal:
    user_id: int
    username: str
    display_name: str | None
    role: str
    permissions: dict[str, str]
    via: str  # session | token
    csrf: str | None = None  # sessions only
    token_name: str | None = None
    token_level: str | None = None
    extension: str | None = None
    locale: str | None = None
    #: set when the token's last use should be recorded
    token_id: int | None = attrs.field(default=None, eq=False)

    @property
    def actor(self) -> str:
        """The name written to the audit log for what this caller changes."""
        return (
            self.username
            if self.via == "session"
            else f"{self.username} (token {self.token_name})"[:100]
        )

    @property
    def level(self) -> str:
        base = ROLES[self.role]
        if self.token_level is not None and rank(self.token_level) < rank(base):
            return self.token_level
        return base

    def level_for(self, plugin: str | None) -> str:
        level = self.level
        if plugin and plugin in self.permissions:
            granted = self.permissions[plugin]
            if granted in LEVELS[:-1]:
                level = (
                    granted
                    if self.token_level is None or rank(granted) <= rank(self.token_level)
                    else self.token_level
                )
        return level

    def can(self, access: str, plugin: str | None = None) -> bool:
        return rank(self.level_for(plugin)) >= rank(access)

    @property
    def may_manage_tokens(self) -> bool:
        """Creating or revoking tokens needs a login or an admin-level token: a token of a lower
        level must not mint tokens that outlive it, nor revoke its user's stronger ones."""
        return self.via == "session" or self.token_level == "admin"

    def refusal(self, access: str, plugin: str | None = None) -> str:
        """Why this caller may not do what needs ``access``, naming what limits them: a token's own
        level when the token is the limit, else the user's role (or their grant for the plugin)."""
        level = self.level_for(plugin)
        where = f" to {plugin}" if plugin else ""
        if self.token_level is not None and level == self.token_level:
            return (
                f"the token {self.token_name!r} of {self.username} has {level} access: "
                f"this needs {access} access{where}"
            )
        return f"{self.username} ({self.role}) may not do this: it needs {access} access{where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "level": self.level,
            "permissions": dict(self.permissions),
            "via": self.via,
            "token": self.token_name,
            "extension": self.extension,
            "locale": self.locale,
        }


def session_cookie_name(secure: bool) -> str:
    return "__Host-crm_session" if secure else "crm_session"


def principal_from(session, *, bearer: str | None, cookie: str | None, now) -> Principal | None:
    """Look the caller up (one short read). A bearer token wins over a cookie."""
    if bearer:
        found = find_token(session, bearer, now)
        if found is None:
            return None
        user, token = found
        # last use is recorded coarsely (by the caller, in its own write) so reads stay read-only
        stale = token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300
        return Principal(
            user.id,
            user.username,
            user.display_name,
            user.role,
            dict(user.permissions or {}),
            "token",
            token_name=token.name,
            token_level=token.level,
            extension=user.extension,
            locale=user.locale,
            token_id=token.id if stale else None,
        )
    if cookie:
        found = find_session(session, cookie, now)
        if found is None:
            return None
        user, row = found
        return Principal(
            user.id,
            user.username,
            user.display_name,
            user.role,
            dict(user.permissions or {}),
            "session",
            csrf=row.csrf_token,
            extension=user.extension,
            locale=user.locale,
        )
    return None


def bearer_of(headers) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def csrf_ok(principal: Principal, given: str | None) -> bool:
    """Unsafe requests carried by a cookie must echo the session's CSRF token (tokens are not ambient)."""
    if principal.via != "session":
        return True
    return bool(given) and principal.csrf is not None and hmac.compare_digest(given, principal.csrf)
