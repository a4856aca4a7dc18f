"""The people tasks are assigned to (``crm tasks users …``). Assigning to anyone else is refused."""

from __future__ import annotations

import re

from sqlalchemy import select

from crmcore.api import Conflict, NotFound, ValidationError, parse_email

from .models import TaskUser

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def add_user(
    uow, username: str, *, display_name: str | None = None, email: str | None = None
) -> TaskUser:
    name = (username or "").strip()
    if not _USERNAME.match(name):
        raise ValidationError(
            f"{username!r} is not a username (letters, digits, . _ @ -; up to 100)",
            field="username",
        )
    if uow.session.get(TaskUser, name) is not None:
        raise Conflict(f"user {name!r} already exists", field="username")
    address = parse_email(email).address if email else None
    user = TaskUser(
        username=name,
        display_name=" ".join((display_name or name).split()),
        email=address,
        active=True,
        created_at=uow.now(),
    )
    uow.session.add(user)
    uow.session.flush()
    uow.audit("create", "task_user", name, {"display_name": user.display_name, "email": address})
    return user


def set_active(uow, username: str, active: bool) -> TaskUser:
    user = uow.session.get(TaskUser, (username or "").strip())
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    user.active = active
    uow.audit("activate" if active else "deactivate", "task_user", user.username)
    return user


def list_users(uow) -> list[TaskUser]:
    return list(uow.session.scalars(select(TaskUser).order_by(TaskUser.username)))


def check_assignee(uow, username: str | None, *, field: str = "assignee") -> str | None:
    """The username if it is a known, active user; None for none; a ValidationError otherwise."""
    name = (username or "").strip()
    if not name:
        return None
    user = uow.session.get(TaskUser, name)
    if user is None:
        known = [u.username for u in list_users(uow) if u.active]
        hint = (
            ", ".join(known[:10])
            if known
            else "none yet; add one with: crm tasks users add USERNAME"
        )
        raise ValidationError(f"unknown assignee {name!r} (known: {hint})", field=field)
    if not user.active:
        raise ValidationError(f"user {name!r} is deactivated", field=field)
    return user.username


def user_to_dict(user: TaskUser) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "active": user.active,
    }
