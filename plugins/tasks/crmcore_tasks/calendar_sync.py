"""Two-way sync of each user's tasks with a CalDAV calendar (Nextcloud, Fastmail, Radicale…).

The iCalendar mapping is the one of the ``.ics`` export and import (:mod:`.ical_export`,
:mod:`.ical_import`); this module only moves those objects over CalDAV with the ``caldav`` library.

One sync of a user:

1. **From the calendar:** the changes since the stored sync token (RFC 6578 ``sync-collection``; the
   first sync reads everything). An object whose ETag is the one stored was written by us and is
   skipped. A changed object moves, completes (VTODO ``STATUS:COMPLETED``) or cancels
   (``STATUS:CANCELLED``) its task; a deleted object cancels its task; an override
   (RECURRENCE-ID) of the current occurrence moves that occurrence only, cancelled overrides
   and EXDATEs remove occurrences. A new object becomes a task of the customer named by its
   attendees (as an import).
2. **Conflicts** (the task changed in the CRM and the object in the calendar since the last
   sync): the later change wins, the calendar's LAST-MODIFIED against the task's ``updated_at``; on
   a tie the CRM wins. A deletion in the calendar always cancels the task.
3. **To the calendar:** every task changed in the CRM since it was last in step is written to its
   object (new tasks get one at ``<collection>/<uid>.ics``); overrides the calendar holds for other
   occurrences of a recurring task are kept; a task given to another user, or of a forgotten
   customer, leaves this calendar. The ETags returned are stored, and the sync token is moved past
   our own writes, so the next sync with nothing changed transfers nothing.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
from icalendar import Calendar
from sqlalchemy import select

from crmcore.api import CRMError, Customer, NotFound, ValidationError

from .ical_export import task_components
from .ical_import import ImportSummary, _current_due, _read, _update, import_calendar
from .models import CalendarConnection, CalendarItem, Task
from .service import _set_due, _touch, cancel_task, complete_task
from .users import check_assignee

STYLES = ("events", "mixed")


class CalendarServerError(CRMError):
    """The CalDAV server could not be reached or refused a request (said in one line, no secret)."""


@attrs.define
class SyncResult:
    user: str
    #: from the calendar to the CRM: task ids per kind of change
    moved: list[int] = attrs.field(factory=list)
    completed: list[int] = attrs.field(factory=list)
    cancelled: list[int] = attrs.field(factory=list)
    updated: list[int] = attrs.field(factory=list)
    created: list[int] = attrs.field(factory=list)
    skipped: list[dict[str, str]] = attrs.field(factory=list)
    #: both sides changed: which one won, per task
    conflicts: list[dict[str, Any]] = attrs.field(factory=list)
    #: from the CRM to the calendar
    pushed_new: list[int] = attrs.field(factory=list)
    pushed_changed: list[int] = attrs.field(factory=list)
    #: tasks no longer this user's (reassigned): their objects were deleted from the calendar
    pushed_removed: list[int] = attrs.field(factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "from_calendar": {
                "moved": self.moved,
                "completed": self.completed,
                "cancelled": self.cancelled,
                "updated": self.updated,
                "created": self.created,
                "skipped": self.skipped,
            },
            "to_calendar": {
                "created": self.pushed_new,
                "updated": self.pushed_changed,
                "removed": self.pushed_removed,
            },
            "conflicts": self.conflicts,
        }

    @property
    def transferred(self) -> int:
        return sum(
            len(x)
            for x in (
                self.moved,
                self.completed,
                self.cancelled,
                self.updated,
                self.created,
                self.pushed_new,
                self.pushed_changed,
                self.pushed_removed,
            )
        )


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{url!r} is not an http(s) URL of a CalDAV calendar", field="url")
    return url if url.endswith("/") else url + "/"


def _check_password_ref(ref: str | None) -> str | None:
    if ref in (None, ""):
        return None
    if not ref.startswith("env:") or not ref[4:].strip():
        # a password typed on the command line ends up in shell history and in the database
        raise ValidationError(
            "give the password as env:NAME (the environment variable holding it)", field="password"
        )
    return ref


def _password(conn: CalendarConnection) -> str | None:
    if not conn.password_ref:
        return None
    name = conn.password_ref[4:]
    value = os.environ.get(name)
    if value is None:
        raise ValidationError(
            f"environment variable {name} (the calendar password of {conn.username}) is not set",
            field="password",
        )
    return value


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


_FAILURES = (
    ("Connection refused", "cannot be reached (connection refused)"),
    ("Name or service not known", "cannot be reached (unknown host)"),
    ("Temporary failure in name resolution", "cannot be reached (unknown host)"),
    ("timed out", "did not answer in time"),
    ("CERTIFICATE_VERIFY_FAILED", "has a TLS certificate that is not trusted"),
)


def _describe(exc: BaseException) -> str:
    """What went wrong, in a few words a shop owner can act on (no URL with a password, no repr)."""
    status = getattr(exc, "status", None)
    if status in (401, 403):
        return f"refused the login (HTTP {status})"
    if status == 404:
        return "has no calendar at this URL (HTTP 404)"
    if isinstance(status, int):
        return f"answered HTTP {status}"
    text = " ".join(str(exc).split())
    for needle, words in _FAILURES:
        if needle in text:
            return words
    return text[:160] or exc.__class__.__name__


def _server_error(conn_url: str, exc: Exception) -> CalendarServerError:
    return CalendarServerError(f"calendar server {_host(conn_url)} {_describe(exc)}", field="url")


def _open(conn: CalendarConnection):
    """The caldav Calendar of ``conn``, checked to answer as a calendar collection."""
    try:
        import caldav
    except ImportError:
        raise CRMError(
            "calendar sync needs the caldav library: pip install 'crmcore-tasks[caldav]'",
            field="url",
        ) from None

    client = caldav.DAVClient(
        url=conn.url, username=conn.login or None, password=_password(conn), timeout=30
    )
    calendar = client.calendar(url=conn.url)
    try:
        calendar.get_supported_components()
    except Exception as exc:  # noqa: BLE001  any failure of the server is said in one line
        raise _server_error(conn.url, exc) from None
    return client, calendar


def get_connection(uow, username: str, *, for_update: bool = False) -> CalendarConnection:
    user = check_assignee(uow, username)
    # the row lock keeps a cron sync and a hand-started one of the same user from interleaving
    conn = uow.session.get(CalendarConnection, user, with_for_update=for_update or None)
    if conn is None:
        raise NotFound(
            f"{user} has no calendar connected (crm tasks calendar connect {user} --url …)",
            field="user",
        )
    return conn


def connect(
    uow,
    username: str,
    *,
    url: str,
    login: str | None = None,
    password: str | None = None,
    style: str = "mixed",
    check: bool = True,
) -> CalendarConnection:
    """Connect (or re-connect) ``username``'s tasks to the CalDAV collection at ``url``.
    ``password`` is ``env:NAME``. With ``check`` the server must answer as a calendar first. A new
    URL starts afresh."""
    user = check_assignee(uow, username)
    if style not in STYLES:
        raise ValidationError(
            f"{style!r} is not a calendar style ({', '.join(STYLES)})", field="style"
        )
    conn = uow.session.get(CalendarConnection, user)
    url = _check_url(url)
    if conn is None:
        conn = CalendarConnection(username=user, url=url)
        uow.session.add(conn)
    elif conn.url != url:
        for item in uow.session.scalars(select(CalendarItem).where(CalendarItem.username == user)):
            uow.session.delete(item)
        conn.sync_token = conn.last_sync_at = None
    elif conn.style != style and conn.sync_token is not None:
        # the objects already there would have to change from to-dos to events (or back)
        raise ValidationError(
            f"{user}'s tasks are in this calendar as {conn.style}; to use {style}, connect to "
            "another (empty) calendar",
            field="style",
        )
    conn.url, conn.login, conn.style = url, (login or "").strip() or None, style
    conn.password_ref = _check_password_ref(password)
    conn.last_error = None
    if check:
        _open(conn)
    uow.session.flush()
    uow.audit("calendar-connect", "tasks_user", user, {"url": url, "style": style})
    return conn


def status(uow) -> list[dict[str, Any]]:
    """Each connected calendar: URL, login, last sync and error, tasks in step (no password)."""
    from sqlalchemy import func

    counts = dict(
        uow.session.execute(
            select(CalendarItem.username, func.count()).group_by(CalendarItem.username)
        ).all()
    )
    rows = []
    for conn in uow.session.scalars(
        select(CalendarConnection).order_by(CalendarConnection.username)
    ):
        rows.append(
            {
                "user": conn.username,
                "url": conn.url,
                "login": conn.login,
                "style": conn.style,
                "password": conn.password_ref,
                "synced": conn.sync_token is not None,
                "last_sync_at": conn.last_sync_at.isoformat() if conn.last_sync_at else None,
                "last_error": conn.last_error,
                "tasks": counts.get(conn.username, 0),
            }
        )
    return rows


def _etag(obj) -> str | None:
    from caldav.elements import dav

    value = (getattr(obj, "props", None) or {}).get(dav.GetEtag.tag)
    return str(value) if value else None


def _href(obj) -> str:
    return str(obj.url.canonical())


def _last_modified(component) -> datetime | None:
    for key in ("LAST-MODIFIED", "DTSTAMP"):
        prop = component.get(key)
        if prop is not None and isinstance(prop.dt, datetime):
            value = prop.dt
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(
                timezone.utc
            )
    return None


def _components(data: str) -> tuple[Any, list[Any]]:
    cal = Calendar.from_ical(data)
    items = [c for c in cal.walk() if c.name in ("VEVENT", "VTODO")]
    main = next((c for c in items if c.get("RECURRENCE-ID") is None), None)
    return main, [c for c in items if c.get("RECURRENCE-ID") is not None]


def _as_utc(prop, tz: str) -> datetime:
    from .ical_import import _as_utc as to_utc
    from .values import local_midnight

    value = prop.dt
    if not isinstance(value, datetime):
        return local_midnight(value, tz)
    return to_utc(value, tz)


def sync_user(uow, username: str) -> SyncResult:
    """One two-way sync of ``username``'s tasks (see the module's doc for the rules)."""
    conn = get_connection(uow, username, for_update=True)
    result = SyncResult(user=conn.username)
    try:
        client, calendar = _open(conn)
        token = _pull(uow, conn, calendar, result)
        pushed = _push(uow, conn, client, calendar, result)
        conn.sync_token = _after_push(conn, calendar, token, pushed)
    except CRMError:
        raise
    except Exception as exc:  # noqa: BLE001  network and protocol failures: one line, no traceback
        raise _server_error(conn.url, exc) from None
    conn.last_sync_at = uow.now()
    conn.last_error = None
    uow.audit("calendar-sync", "tasks_user", conn.username, result.to_dict())
    return result


def _pull(uow, conn: CalendarConnection, calendar, result: SyncResult) -> str:
    try:
        changes = calendar.get_objects_by_sync_token(
            conn.sync_token, load_objects=True, disable_fallback=True
        )
    except Exception as exc:  # noqa: BLE001
        if "{DAV:}valid-sync-token" not in (getattr(exc, "preconditions", None) or ()):
            raise
        # RFC 6578 3.2: the server forgot our token; read everything again (ETags avoid re-applying)
        changes = calendar.get_objects_by_sync_token(None, load_objects=True, disable_fallback=True)
    items = {
        i.href: i
        for i in uow.session.scalars(
            select(CalendarItem).where(CalendarItem.username == conn.username)
        )
    }
    deleted = {str(u) for u in changes.deleted_urls}
    for obj in changes.objects:
        href = _href(obj)
        item = items.get(href)
        if href in deleted:
            if item is not None:
                _remote_deleted(uow, item, result)
                items.pop(href)
            continue
        if item is not None and item.etag is not None and item.etag == _etag(obj):
            continue  # our own write
        if not obj.data:
            continue
        try:
            # one unreadable object is reported and skipped; it does not stop the others
            with uow.session.begin_nested():
                if item is None:
                    _remote_new(uow, conn, obj, result)
                else:
                    _remote_changed(uow, item, obj, result)
        except (CRMError, ValueError) as exc:
            result.skipped.append(
                {"uid": href.rsplit("/", 1)[-1], "title": "", "reason": str(exc)[:300]}
            )
    return changes.sync_token


def _remote_deleted(uow, item: CalendarItem, result: SyncResult) -> None:
    task = uow.session.get(Task, item.task_id)
    uow.session.delete(item)
    if task is not None and task.state == "open":
        cancel_task(uow, task.id, reason="deleted in the calendar")
        result.cancelled.append(task.id)


def _remote_new(uow, conn: CalendarConnection, obj, result: SyncResult) -> None:
    main, _ = _components(obj.data)
    if main is None:
        return
    uid = str(main.get("UID", "")).strip()
    task = uow.session.scalar(select(Task).where(Task.uid == uid)) if uid else None
    if task is not None and task.assignee == conn.username:
        # a task that was in the calendar before (or put there by another client): link and compare
        item = uow.session.scalar(
            select(CalendarItem).where(
                CalendarItem.username == conn.username, CalendarItem.task_id == task.id
            )
        )
        if item is None:
            item = CalendarItem(username=conn.username, task_id=task.id, href=_href(obj))
            uow.session.add(item)
        item.href, item.synced_sequence = _href(obj), None
        _remote_changed(uow, item, obj, result)
        return
    summary = import_calendar(
        uow,
        obj.data,
        name=f"calendar object {_href(obj)}",
        assignee=conn.username,
        skip_unmatched=True,
    )
    result.skipped += summary.skipped
    for task_id in summary.created:
        task = uow.session.get(Task, task_id)
        uow.session.add(
            CalendarItem(
                username=conn.username,
                task_id=task_id,
                href=_href(obj),
                etag=_etag(obj),
                synced_sequence=task.sequence,
            )
        )
        result.created.append(task_id)


def _remote_changed(uow, item: CalendarItem, obj, result: SyncResult) -> None:
    task = uow.session.get(Task, item.task_id)
    item.etag = _etag(obj)
    main, overrides = _components(obj.data)
    if task is None or main is None:
        return
    local_changed = item.synced_sequence is None or task.sequence != item.synced_sequence
    remote_at = _last_modified(main)
    if local_changed and item.synced_sequence is not None:
        crm_wins = remote_at is None or remote_at <= task.updated_at
        result.conflicts.append(
            {
                "task_id": task.id,
                "winner": "crm" if crm_wins else "calendar",
                "crm_updated_at": task.updated_at.isoformat(),
                "calendar_modified_at": remote_at.isoformat() if remote_at else None,
            }
        )
        if crm_wins:
            return  # the push below writes the CRM's version over the calendar's
    _apply(uow, task, main, overrides, result)
    if not (task.id in result.completed and task.state == "open"):
        # a series completed in the calendar moved on to its next occurrence: that goes back
        item.synced_sequence = task.sequence


def _apply(uow, task: Task, main, overrides: list[Any], result: SyncResult) -> None:
    status_ = str(main.get("STATUS", "")).upper()
    if task.state != "open":
        return  # a closed task is not reopened from the calendar
    if status_ == "CANCELLED":
        cancel_task(uow, task.id, reason="cancelled in the calendar")
        result.cancelled.append(task.id)
        return
    if status_ == "COMPLETED" or main.get("COMPLETED") is not None:
        complete_task(uow, task.id, note="completed in the calendar")
        result.completed.append(task.id)
        return
    item = _read(uow, main, "calendar")
    if item is None:
        return
    if main.name == "VTODO":  # a to-do has no length: keep the task's
        item["duration"] = task.duration_minutes
    before = task.due_at
    due = _current_due(uow, item) if item["rrule"] else item["start"]
    summary = ImportSummary()
    if due is not None:
        _update(uow, task, item, due, summary)
    changed = bool(summary.updated)
    if task.rrule:
        changed |= _apply_exceptions(uow, task, item, overrides)
    if task.due_at != before:
        result.moved.append(task.id)
    elif changed:
        result.updated.append(task.id)


def _apply_exceptions(uow, task: Task, item: dict[str, Any], overrides: list[Any]) -> bool:
    """EXDATEs and cancelled overrides remove occurrences; a moved override of the current
    occurrence moves it (like a snooze). Overrides of other occurrences stay in the calendar
    (kept on push)."""
    exdates = {e.isoformat() for e in item["exdates"]}
    current = task.occurrence_at
    moved_to = None
    for override in overrides:
        rid = _as_utc(override["RECURRENCE-ID"], task.timezone).isoformat()
        if str(override.get("STATUS", "")).upper() == "CANCELLED":
            exdates.add(rid)
        elif (
            current is not None
            and rid == current.isoformat()
            and override.get("DTSTART") is not None
        ):
            moved_to = _as_utc(override["DTSTART"], task.timezone)
    changed = False
    if sorted(exdates) != sorted(task.exdates or []):
        task.exdates = sorted(exdates)
        changed = True
        if current is not None and current.isoformat() in exdates:
            from . import recurrence

            following = recurrence.next_occurrence(
                task.rrule, task.series_start, task.timezone, current, task.exdates
            )
            if following is None:
                cancel_task(uow, task.id, reason="its last occurrence was removed in the calendar")
                return True
            task.occurrence_at = following
            _set_due(task, following)
    if moved_to is not None and moved_to != task.due_at:
        _set_due(task, moved_to)
        changed = True
    if changed:
        _touch(uow, task)
        uow.audit(
            "calendar-update",
            "task",
            task.id,
            {"due_at": task.due_at.isoformat(), "exdates": task.exdates},
            customer_id=task.customer_id,
        )
    return changed


def _ical(task: Task, customer_name: str, style: str, kept: list[Any]) -> str:
    cal = Calendar()
    cal.add("prodid", "-//crmcore//crmcore-tasks calendar sync//EN")
    cal.add("version", "2.0")
    current = set()
    for component in task_components(task, customer_name, style=style):
        if component.get("RECURRENCE-ID") is not None:
            current.add(component["RECURRENCE-ID"].dt)
        cal.add_component(component)
    for override in kept:  # the calendar's own changes to other occurrences
        if override["RECURRENCE-ID"].dt not in current:
            cal.add_component(override)
    cal.add_missing_timezones()
    return cal.to_ical().decode("utf-8")


def _push(
    uow, conn: CalendarConnection, client, calendar, result: SyncResult
) -> dict[str, CalendarItem]:
    items = {
        i.task_id: i
        for i in uow.session.scalars(
            select(CalendarItem).where(CalendarItem.username == conn.username)
        )
    }
    q = (
        select(Task, Customer.display_name, Customer.forgotten_at)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.assignee == conn.username)
        .order_by(Task.id)
    )
    pushed: dict[str, CalendarItem] = {}
    for item in list(items.values()):
        task = uow.session.get(Task, item.task_id)
        if task is None or task.assignee != conn.username:  # reassigned: leaves this calendar
            client.delete(item.href)
            uow.session.delete(item)
            items.pop(item.task_id)
            result.pushed_removed.append(item.task_id)
    for task, customer_name, forgotten in uow.session.execute(q):
        item = items.get(task.id)
        if forgotten is not None:  # a forgotten customer leaves no trace in calendars either
            if item is not None:
                client.delete(item.href)
                uow.session.delete(item)
                result.pushed_removed.append(task.id)
            continue
        if item is None and task.state != "open":
            continue
        if item is not None and item.synced_sequence == task.sequence:
            continue
        kept = []
        if item is not None and task.rrule:
            kept = _remote_overrides(client, item.href, task)
        data = _ical(task, customer_name, conn.style, kept)
        href = (
            item.href
            if item is not None
            else str(calendar.url.join(quote(task.uid, safe="") + ".ics").canonical())
        )
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        # never overwrite what changed in the calendar since we read it: the next sync reads it
        if item is None:
            headers["If-None-Match"] = "*"
        elif item.etag:
            headers["If-Match"] = item.etag
        response = client.put(href, data, headers)
        if response.status == 412:
            result.skipped.append(
                {
                    "uid": task.uid,
                    "title": task.title,
                    "reason": "changed in the calendar meanwhile; the next sync",
                }
            )
            continue
        if response.status not in (200, 201, 204):
            raise CalendarServerError(
                f"calendar server {_host(conn.url)} refused task {task.id}: HTTP {response.status}",
                field="url",
            )
        etag = response.headers.get("ETag")
        if item is None:
            item = CalendarItem(username=conn.username, task_id=task.id, href=href)
            uow.session.add(item)
            result.pushed_new.append(task.id)
        else:
            result.pushed_changed.append(task.id)
        item.etag = etag
        item.synced_sequence = task.sequence
        pushed[href] = item
    uow.session.flush()
    return pushed


def _remote_overrides(client, href: str, task: Task) -> list[Any]:
    response = client.request(href, "GET")
    if response.status != 200 or not response.raw:
        return []
    _, overrides = _components(response.raw)
    current = task.occurrence_at.isoformat() if task.occurrence_at else None
    return [
        o for o in overrides if _as_utc(o["RECURRENCE-ID"], task.timezone).isoformat() != current
    ]


def _after_push(
    conn: CalendarConnection, calendar, token: str, pushed: dict[str, CalendarItem]
) -> str:
    """The token past our own writes, when nothing else changed meanwhile (else the token before
    them, so the next sync still sees the others' changes). ETags a server did not return on PUT
    are taken from here."""
    if not pushed:
        return token
    changes = calendar.get_objects_by_sync_token(token, load_objects=False, disable_fallback=True)
    others = False
    for obj in changes.objects:
        item = pushed.get(_href(obj))
        if item is None:
            others = True
        elif item.etag is None:
            item.etag = _etag(obj)
    return token if others else changes.sync_token


def sync_all(uow_factory, *, user: str | None = None) -> tuple[list[SyncResult], list[str]]:
    """Sync ``user`` (or every connected user, each in its own unit of work). Returns the results
    and one error line per user whose server failed (their error is kept for ``calendar
    status``)."""
    if user is not None:
        with uow_factory() as uow:
            return [sync_user(uow, user)], []
    with uow_factory(readonly=True) as uow:
        names = list(
            uow.session.scalars(
                select(CalendarConnection.username).order_by(CalendarConnection.username)
            )
        )
    results, errors = [], []
    for name in names:
        try:
            with uow_factory() as uow:
                results.append(sync_user(uow, name))
        except CRMError as exc:
            errors.append(f"{name}: {exc}")
            with uow_factory() as uow:
                conn = uow.session.get(CalendarConnection, name)
                if conn is not None:
                    conn.last_error = exc.message[:500]
    return results, errors


def sync_all_in(uow) -> dict[str, Any]:
    """The job's sync: every connected user in one unit of work, each in a savepoint, so a failing
    server rolls back that user's sync only and is noted as the connection's ``last_error``."""
    names = list(
        uow.session.scalars(
            select(CalendarConnection.username).order_by(CalendarConnection.username)
        )
    )
    summary: dict[str, Any] = {"synced": 0, "transferred": 0, "failed": []}
    for name in names:
        try:
            with uow.session.begin_nested():
                result = sync_user(uow, name)
            summary["synced"] += 1
            summary["transferred"] += result.transferred
        except CRMError as exc:
            conn = uow.session.get(CalendarConnection, name)
            conn.last_error = exc.message[:500]
            summary["failed"].append(name)
    return summary
