"""Tables of the web interface: users with roles and per-plugin permissions, teams, login sessions,
API tokens.

Secrets are never stored: session ids and API tokens are kept as SHA-256 digests, passwords as argon2 hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.dates import utcnow
from ..storage.base import Base, JSONType


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[Optional[str]] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | manager | agent | read-only
    #: per-plugin access replacing the role's level for that plugin: {"loyalty": "read", "tickets": "none"}
    permissions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    password_hash: Mapped[str] = mapped_column(String(200))
    #: the phone extension whose caller-ID pops this user sees (none: every incoming call)
    extension: Mapped[Optional[str]] = mapped_column(String(20))
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    #: the user's own address and mobile for staff notifications (never a customer's)
    email: Mapped[Optional[str]] = mapped_column(String(254))
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    #: channels beyond the web list: any of "email", "sms", "pop"; none means every channel the user
    #: has an address for
    notify_channels: Mapped[Optional[list[Any]]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[Optional[datetime]]

    tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class WebSession(Base):
    """A browser login. The cookie carries a random id; the table keeps its digest and the CSRF token."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    client: Mapped[Optional[str]] = mapped_column(String(100))


class ApiToken(Base):
    """A bearer token for integrations, acting as its user (at most at the token's own level)."""

    __tablename__ = "web_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the token's own ceiling: read | write | manage | admin (never above the user's role)
    level: Mapped[str] = mapped_column(String(16), default="read")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: recorded at most every few minutes (a read stays a read); shown in the token lists
    last_used_at: Mapped[Optional[datetime]]
    #: the token stops working then (none: until revoked)
    expires_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]

    user: Mapped[WebUser] = relationship(back_populates="tokens")
    __table_args__ = (Index("ix_web_api_tokens_user_name", "user_id", "name", unique=True),)


class UserTeam(Base):
    """A group of users: the record rules' ``team`` scope (users may belong to several teams)."""

    __tablename__ = "crm_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserTeamMember(Base):
    __tablename__ = "crm_team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("crm_teams.id", ondelete="CASCADE"), primary_key=True
    )
    # the primary key's (team_id, user_id) order serves "members of a team"; this serves "teams of a
    # user"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UserNotification(Base):
    """A staff notification (a task reminder, an SLA warning, a ticket or deal assigned, a
    transfer to approve) addressed to one user; shown in their web list until read, and sent to
    their own channels."""

    __tablename__ = "user_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[Optional[str]] = mapped_column(Text)
    link: Mapped[Optional[str]] = mapped_column(String(500))
    #: the happening it announces (``task:5:r2@…``): a rerun job notifies nobody twice
    dedup_key: Mapped[Optional[str]] = mapped_column(String(200))
    #: channel → outcome ("web": "listed", "email": "queued", "sms": "no phone"…)
    deliveries: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[Optional[datetime]]

    __table_args__ = (
        Index("ix_user_notifications_user_read", "user_id", "read_at", "id"),
        Index("ix_user_notifications_user_key", "user_id", "dedup_key", unique=True),
    )
