"""Staff notifications: something a user of the CRM must know (a task reminder, an SLA about to
break, a ticket or deal given to them, a transfer waiting for a manager), addressed to that user —
never to a customer, so a notification may carry internal notes.

A notification is one row in the user's list (the web's bell with its unread count, ``crm users
notifications``), a pop on the pages they have open (an outbox row ``crm_user_notified`` that
``/events/calls`` streams to them alone) and, through the ``crm_staff_message`` hook a messaging
plugin implements, an email to the user's own address and an SMS to their own mobile.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from ..domain.emails import parse_email
from ..domain.phones import parse_phone
from ..errors import NotFound, ValidationError
from ..web.models import UserNotification, WebUser

#: what a notification is about (shown as its badge; plugins may use others of the same shape)
KINDS = (
    "reminder",
    "sla_warning",
    "sla_breach",
    "ticket_assigned",
    "deal_assigned",
    "transfer_pending",
    "info",
)
#: channels a user may choose beyond the web list, which every notification is in
CHANNELS = ("email", "sms", "pop")
EVENT = "crm_user_notified"
MAX_TITLE = 300


def find_user(session, username: str | None) -> WebUser | None:
    name = (username or "").strip().lower()
    if not name:
        return None
    return session.scalar(select(WebUser).where(WebUser.username == name))


def channels_of(user: WebUser) -> list[str]:
    """The channels this user is notified on: their choice, or every one they have an address
    for."""
    chosen = user.notify_channels
    return [c for c in CHANNELS if c in chosen] if chosen is not None else list(CHANNELS)


def parse_channels(raw: str | list[str] | None) -> list[str] | None:
    """``"email,sms"`` → ``["email", "sms"]``; ``"web"`` → ``[]`` (the list only); ``""``/None →
    None (every channel the user has an address for)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    items = raw.replace("،", ",").split(",") if isinstance(raw, str) else list(raw)
    picked: list[str] = []
    for item in (str(i).strip().lower() for i in items):
        if item == "web" or not item:
            continue
        if item not in CHANNELS:
            known = ", ".join(("web",) + CHANNELS)
            raise ValidationError(
                f"{item!r} is not a notification channel ({known})", field="notify"
            )
        if item not in picked:
            picked.append(item)
    return picked


def clean_contact(email: str | None, phone: str | None) -> tuple[str | None, str | None]:
    """The user's own email and mobile as stored (``""`` clears): validated like customers' are."""
    address = parse_email(email, field="email").address if email else None
    mobile = parse_phone(phone, field="phone").e164 if phone else None
    return address, mobile


def _check_link(link: str | None) -> str | None:
    if link is None or link == "":
        return None
    if not link.startswith("/") or link.startswith("//") or len(link) > 500:
        raise ValidationError(
            f"a notification links to a page of this site (/…), not {link[:60]!r}", field="link"
        )
    return link


def notify_user(
    uow,
    username: str | None,
    title: str,
    body: str | None = None,
    *,
    link: str | None = None,
    kind: str = "info",
    key: str | None = None,
) -> UserNotification | None:
    """Tell the user ``username`` something, on every channel they have.

    :param title: one line (``"یادآوری: تماس با مریم کریمی · ۱۴:۳۰"``); at most 300 characters kept.
    :param body: more text, may be internal (a task's notes).
    :param link: a page of this site (``/customers/12``), shown with it.
    :param kind: ``reminder``, ``sla_warning``, ``sla_breach``, ``ticket_assigned``,
        ``deal_assigned``, ``transfer_pending`` or ``info``.
    :param key: names the happening (``task:5:2026-12-08T10:00``): while a notification of the user
        has this key, calling again returns it and sends nothing.
    :return: the stored notification, or ``None`` when no active user has that name (a task assigned
        to someone without a login); the caller may count those.
    """
    user = find_user(uow.session, username)
    if user is None or not user.active:
        return None
    text = " ".join(str(title or "").split())
    if not text:
        raise ValidationError("a notification needs a title", field="title")
    dedup = (key or "").strip()[:200] or None
    if dedup is not None:
        found = uow.session.scalar(
            select(UserNotification).where(
                UserNotification.user_id == user.id, UserNotification.dedup_key == dedup
            )
        )
        if found is not None:
            return found
    row = UserNotification(
        user_id=user.id,
        kind=(kind or "info")[:40],
        title=text[:MAX_TITLE],
        body=(body or "").strip() or None,
        link=_check_link(link),
        dedup_key=dedup,
        created_at=uow.now(),
        deliveries={"web": "listed"},
    )
    uow.session.add(row)
    uow.session.flush()
    deliveries = {"web": "listed"}
    chosen = channels_of(user)
    for channel, address in (("email", user.email), ("sms", user.phone)):
        if channel not in chosen:
            continue
        if not address:
            deliveries[channel] = f"no {'email address' if channel == 'email' else 'mobile'}"
            continue
        outcome = uow.call(
            "crm_staff_message",
            channel=channel,
            address=address,
            subject=row.title,
            body=row.body,
            key=f"notification:{row.id}:{channel}",
        )
        deliveries[channel] = outcome or "no provider"
    if "pop" in chosen:
        deliveries["pop"] = "published"
    row.deliveries = deliveries
    uow.emit(
        EVENT,
        data={**notification_to_dict(row), "username": user.username, "pop": "pop" in chosen},
        notification=row,
        user=user,
    )
    return row


def notification_to_dict(n: UserNotification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": n.created_at.isoformat() if n.created_at else None,
        "read_at": n.read_at.isoformat() if n.read_at else None,
        "deliveries": dict(n.deliveries or {}),
    }


def _user(session, username: str) -> WebUser:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def list_notifications(
    session, username: str, *, unread: bool = False, limit: int = 50
) -> list[UserNotification]:
    user = _user(session, username)
    q = select(UserNotification).where(UserNotification.user_id == user.id)
    if unread:
        q = q.where(UserNotification.read_at.is_(None))
    return list(session.scalars(q.order_by(UserNotification.id.desc()).limit(limit)))


def unread_count(session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(UserNotification)
            .where(UserNotification.user_id == user_id, UserNotification.read_at.is_(None))
        )
        or 0
    )


def mark_read(uow, username: str, ids: list[int] | None = None) -> int:
    """Mark the user's notifications ``ids`` (all unread when None) read; returns how many changed.
    Another user's ids are refused, not silently skipped."""
    user = _user(uow.session, username)
    q = update(UserNotification).where(
        UserNotification.user_id == user.id, UserNotification.read_at.is_(None)
    )
    if ids is not None:
        wanted = set(ids)
        mine = set(
            uow.session.scalars(
                select(UserNotification.id).where(
                    UserNotification.user_id == user.id, UserNotification.id.in_(wanted)
                )
            )
        )
        if wanted - mine:
            raise NotFound(f"{username} has no notification {min(wanted - mine)}", field="id")
        q = q.where(UserNotification.id.in_(wanted))
    return uow.session.execute(q.values(read_at=uow.now())).rowcount or 0


def users_with(session, plugin: str, access: str = "manage") -> list[WebUser]:
    """Active users whose level for ``plugin`` reaches ``access`` (their grant for the plugin, else
    their role's), e.g. those who may approve a plugin's queue."""
    from ..web.users import ROLES, rank

    found = []
    active = select(WebUser).where(WebUser.active.is_(True)).order_by(WebUser.id)
    for user in session.scalars(active):
        level = (user.permissions or {}).get(plugin) or ROLES.get(user.role, "read")
        if level != "none" and rank(level) >= rank(access):
            found.append(user)
    return found


def notify_managers(
    uow,
    plugin: str,
    title: str,
    body: str | None = None,
    *,
    link: str | None = None,
    kind: str = "info",
    key: str | None = None,
    access: str = "manage",
) -> list[UserNotification]:
    """:func:`notify_user` for every active user with ``access`` to ``plugin`` (a transfer waiting
    for approval reaches those who may approve it)."""
    sent = [
        notify_user(uow, u.username, title, body, link=link, kind=kind, key=key)
        for u in users_with(uow.session, plugin, access)
    ]
    return [n for n in sent if n is not None]
