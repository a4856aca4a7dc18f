"""The business logic of tasks: add, complete (advancing recurring series), snooze, cancel, list, agenda,
and de-duplicated follow-ups other plugins create through the ``tasks_create_follow_up`` hook.

Every function takes the unit of work first and writes through ``uow.session``; bad input raises a
ValidationError/NotFound/Conflict naming the field, and the unit of work's rollback keeps nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from crmcore.api import (
    Conflict,
    Customer,
    NotFound,
    ValidationError,
    check_text,
    get_customer,
    resolve_customer,
)

from . import recurrence
from .models import Task, TaskCompletion, TaskReminder
from .users import check_assignee
from .values import (
    APPOINTMENT_KINDS,
    DEFAULT_APPOINTMENT_MINUTES,
    PRIORITY_RANK,
    Due,
    check_timezone,
    overdue_moment,
    parse_due,
    parse_kind,
    parse_minutes,
    parse_priority,
    parse_reference,
)

UID_DOMAIN = "crmcore"
MAX_TITLE = 300


def _customer(uow, customer: Customer | int | str) -> Customer:
    if isinstance(customer, Customer):
        return customer
    if isinstance(customer, int):
        return get_customer(uow.session, customer)
    return resolve_customer(uow.session, customer)


def get_task(uow, task_id: int | str, *, for_update: bool = False) -> Task:
    try:
        tid = int(str(task_id).strip().lstrip("#"))
    except ValueError:
        raise NotFound(f"{task_id!r} is not a task id", field="task") from None
    task = uow.session.get(Task, tid, with_for_update=for_update or None)
    if task is None:
        raise NotFound(f"no task with id {tid}", field="task")
    return task


def _title(raw: str | None) -> str:
    title = " ".join(check_text(str(raw or ""), "title").split())
    if not title:
        raise ValidationError("a title is required", field="title")
    if len(title) > MAX_TITLE:
        raise ValidationError(
            f"the title is {len(title)} characters long; at most {MAX_TITLE}", field="title"
        )
    return title


def _touch(uow, task: Task) -> None:
    task.updated_at = uow.now()
    task.sequence = (task.sequence or 0) + 1


def new_uid() -> str:
    return f"task-{uuid.uuid4()}@{UID_DOMAIN}"


def prepare_task(
    uow,
    *,
    customer: Customer | int | str,
    kind: str,
    title: str,
    due: Any,
    notes: str | None = None,
    location: str | None = None,
    assignee: str | None = None,
    priority: str | None = None,
    duration: Any = None,
    rrule: str | None = None,
    reminders: Iterable[Any] = (),
    reference: Any = None,
    source: str | None = None,
    dedup_key: str | None = None,
    uid: str | None = None,
    tz: str | None = None,
    all_day: bool | None = None,
    exdates: Iterable[datetime] = (),
) -> Task:
    """Check every field and build the Task (not yet added to the session)."""
    tz = check_timezone(tz or uow.app.timezone)
    kind = parse_kind(kind)
    c = _customer(uow, customer)
    when: Due = (
        due if isinstance(due, Due) else parse_due(due, now=uow.now(), tz=tz, all_day=all_day)
    )
    minutes = parse_minutes(duration, field="duration") if duration not in (None, "") else None
    if minutes is None and kind in APPOINTMENT_KINDS and not when.all_day:
        minutes = DEFAULT_APPOINTMENT_MINUTES
    offsets = sorted(
        {parse_minutes(r, field="remind", allow_zero=True) for r in reminders}, reverse=True
    )
    ref_type, ref_id = parse_reference(reference)
    rule = None
    if rrule not in (None, ""):
        rule = recurrence.normalize_rule(rrule, tz=tz)
        first = recurrence.check_has_occurrence(rule, when.at, tz)
        if first != when.at:
            raise ValidationError(
                f"the due moment {when.at.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} is not an occurrence of "
                f"{rule!r} (the first is {first.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M})",
                field="due",
            )
    key = (dedup_key or "").strip() or None
    if key is not None and len(key) > 200:
        raise ValidationError(
            "the de-duplication key is longer than 200 characters", field="dedup_key"
        )
    now = uow.now()
    task = Task(
        uid=(uid or "").strip() or new_uid(),
        customer_id=c.id,
        kind=kind,
        title=_title(title),
        notes=check_text((notes or "").strip(), "notes") or None,
        location=check_text((location or "").strip()[:300], "location") or None,
        assignee=check_assignee(uow, assignee),
        priority=parse_priority(priority),
        state="open",
        all_day=when.all_day,
        timezone=tz,
        due_at=when.at,
        overdue_at=when.overdue_at(tz),
        duration_minutes=minutes,
        rrule=rule,
        series_start=when.at if rule else None,
        occurrence_at=when.at if rule else None,
        exdates=[e.isoformat() for e in exdates] if rule else [],
        ref_type=ref_type,
        ref_id=ref_id,
        source=(source or "").strip()[:60] or None,
        dedup_key=key,
        open_dedup_key=key,
        sequence=0,
        created_at=now,
        created_by=uow.actor,
        updated_at=now,
    )
    task.reminders = [TaskReminder(minutes_before=m) for m in offsets]
    arm_reminders(task)
    return task


def arm_reminders(task: Task) -> None:
    """Put each reminder's moment in step with the task's due moment (after any change of either)."""
    for reminder in task.reminders:
        reminder.remind_at = task.due_at - timedelta(minutes=reminder.minutes_before)


def _insert(uow, task: Task) -> Task:
    if len(task.uid) > 255:
        raise ValidationError("the calendar UID is longer than 255 characters", field="uid")
    if uow.session.scalar(select(Task.id).where(Task.uid == task.uid)) is not None:
        raise Conflict(f"a task with calendar UID {task.uid!r} already exists", field="uid")
    if task.open_dedup_key and find_open_by_key(uow, task.open_dedup_key) is not None:
        raise Conflict(
            f"an open task already has the de-duplication key {task.open_dedup_key!r}",
            field="dedup_key",
        )
    uow.session.add(task)
    uow.session.flush()
    return task


def _announce_created(uow, task: Task) -> None:
    uow.audit(
        "create",
        "task",
        task.id,
        {
            "kind": task.kind,
            "title": task.title,
            "due_at": task.due_at.isoformat(),
            "assignee": task.assignee,
        },
        customer_id=task.customer_id,
    )
    uow.emit("tasks_task_created", customer_id=task.customer_id, data=task_event_data(task))


def add_task(uow, **fields: Any) -> Task:
    """Add a task or appointment (see :func:`prepare_task` for the fields); returns the flushed Task."""
    task = _insert(uow, prepare_task(uow, **fields))
    _announce_created(uow, task)
    return task


def find_open_by_key(uow, key: str) -> Task | None:
    return uow.session.scalar(select(Task).where(Task.open_dedup_key == key))


def create_follow_up(
    uow,
    *,
    customer_id: int,
    title: str,
    kind: str = "follow_up",
    due_at: Any = None,
    dedup_key: str | None = None,
    source: str | None = None,
    reference: Any = None,
    **extra: Any,
) -> Task:
    """A follow-up another plugin asks for. With a ``dedup_key`` an open task with the same key is returned
    instead of a new one (the same missed caller does not create ten tasks), even under concurrent callers."""
    key = (dedup_key or "").strip() or None
    if key:
        existing = find_open_by_key(uow, key)
        if existing is not None:
            return existing
    customer = get_customer(uow.session, customer_id)
    assignee = extra.pop("assignee", None)
    if assignee is None:
        assignee = _owner_if_assignee(uow, customer)
    due = due_at if due_at is not None else uow.now().replace(second=0, microsecond=0)
    task = prepare_task(
        uow,
        customer=customer,
        kind=kind,
        title=title,
        due=due,
        dedup_key=key,
        source=source,
        reference=reference,
        assignee=assignee,
        **extra,
    )
    if key is None:
        return add_task_prepared(uow, task)
    try:
        with uow.session.begin_nested():
            _insert(uow, task)
    except IntegrityError:  # another transaction created the same open key first
        existing = find_open_by_key(uow, key)
        if existing is None:
            raise
        return existing
    _announce_created(uow, task)
    return task


def add_task_prepared(uow, task: Task) -> Task:
    _insert(uow, task)
    _announce_created(uow, task)
    return task


def _owner_if_assignee(uow, customer: Customer) -> str | None:
    from .models import TaskUser

    if not customer.owner:
        return None
    user = uow.session.get(TaskUser, customer.owner)
    return user.username if user is not None and user.active else None


def _require_open(task: Task, action: str) -> None:
    if task.state != "open":
        raise Conflict(
            f"task {task.id} is {task.state}; only open tasks can be {action}", field="task"
        )


def _set_due(task: Task, due_at: datetime) -> None:
    task.due_at = due_at
    task.overdue_at = overdue_moment(due_at, task.all_day, task.timezone)
    arm_reminders(task)


def _close(uow, task: Task, state: str) -> None:
    task.state = state
    task.open_dedup_key = None
    task.closed_at = uow.now()
    task.closed_by = uow.actor


def complete_task(uow, task_id: int | str, *, note: str | None = None) -> dict[str, Any]:
    """Mark the task's current occurrence done. A recurring series moves on to its next occurrence (and is
    done when there is none). Announces ``tasks_task_completed``."""
    task = get_task(uow, task_id, for_update=True)
    _require_open(task, "completed")
    now = uow.now()
    done_due = task.due_at
    uow.session.add(
        TaskCompletion(
            task_id=task.id,
            customer_id=task.customer_id,
            assignee=task.assignee,
            kind=task.kind,
            due_at=done_due,
            completed_at=now,
            completed_by=uow.actor,
            late=task.overdue_at <= now,
            note=(note or "").strip() or None,
        )
    )
    following = None
    if task.recurring:
        following = recurrence.next_occurrence(
            task.rrule,
            task.series_start,
            task.timezone,
            task.occurrence_at or task.due_at,
            task.exdates,
        )
    if following is None:
        _close(uow, task, "done")
    else:
        task.occurrence_at = following
        _set_due(task, following)
    _touch(uow, task)
    uow.session.flush()
    result = {
        "task_id": task.id,
        "completed_due_at": done_due.isoformat(),
        "completed_at": now.isoformat(),
        "next_due_at": following.isoformat() if following else None,
        "state": task.state,
    }
    uow.audit("complete", "task", task.id, result, customer_id=task.customer_id)
    uow.emit(
        "tasks_task_completed",
        customer_id=task.customer_id,
        data={**task_event_data(task), **result},
        task=task,
    )
    return result


def snooze_task(uow, task_id: int | str, *, by: Any = None, until: Any = None) -> Task:
    """Postpone the current occurrence: ``by`` a duration (``2h``, ``1d``) or ``until`` a moment. Reminders
    are announced again for the new moment."""
    if (by in (None, "")) == (until in (None, "")):
        raise ValidationError(
            "give either --by (e.g. 2h, 1d) or --until (a date and time)", field="snooze"
        )
    task = get_task(uow, task_id, for_update=True)
    _require_open(task, "snoozed")
    old = task.due_at
    if by not in (None, ""):
        new = max(task.due_at, uow.now()) + timedelta(minutes=parse_minutes(by, field="by"))
        if task.all_day:
            new = parse_due(
                new.astimezone(ZoneInfo(task.timezone)).date(), now=uow.now(), tz=task.timezone
            ).at
    else:
        when = parse_due(until, now=uow.now(), tz=task.timezone, field="until")
        if when.all_day != task.all_day:
            kind = "all-day" if task.all_day else "timed"
            raise ValidationError(
                f"task {task.id} is {kind}; give a {'date' if task.all_day else 'date and time'}",
                field="until",
            )
        new = when.at
    if overdue_moment(new, task.all_day, task.timezone) <= uow.now():
        raise ValidationError(
            "snoozing moves a task to a moment still ahead, not into the past", field="until"
        )
    _set_due(task, new)
    _touch(uow, task)
    uow.audit(
        "snooze",
        "task",
        task.id,
        {"due_at": [old.isoformat(), new.isoformat()]},
        customer_id=task.customer_id,
    )
    uow.emit("tasks_task_snoozed", customer_id=task.customer_id, data=task_event_data(task))
    return task


def reschedule_task(uow, task_id: int | str, *, day: Any) -> Task:
    """Move the current occurrence to another local ``day`` (``1403-07-16``, ``2024-10-07``, a
    date), keeping its time of day: the calendar's drag and drop and ``crm tasks move``. A recurring
    series keeps its rule (only this occurrence moves, like a snooze). A day before today is
    refused."""
    from datetime import date as date_type

    from crmcore.api import parse_date

    from .values import local_midnight

    task = get_task(uow, task_id, for_update=True)
    _require_open(task, "moved")
    zone = ZoneInfo(task.timezone)
    target = day if isinstance(day, date_type) else parse_date(str(day or "").strip(), field="day")
    today = uow.now().astimezone(zone).date()
    if target < today:
        raise ValidationError(
            "a task can be moved to today or a later day, not into the past", field="day"
        )
    old = task.due_at
    local = old.astimezone(zone)
    if task.all_day:
        new = local_midnight(target, task.timezone)
    else:
        clock = local.timetz().replace(tzinfo=None)
        new = datetime.combine(target, clock, zone).astimezone(old.tzinfo)
    if new == old:
        return task
    _set_due(task, new)
    _touch(uow, task)
    uow.audit(
        "move",
        "task",
        task.id,
        {"due_at": [old.isoformat(), new.isoformat()]},
        customer_id=task.customer_id,
    )
    uow.emit("tasks_task_snoozed", customer_id=task.customer_id, data=task_event_data(task))
    return task


def update_task(
    uow,
    task_id: int | str,
    *,
    title: str | None = None,
    notes: str | None = None,
    priority: str | None = None,
    due: Any = None,
    rrule: str | None = None,
    reminders: Iterable[Any] | None = None,
) -> Task:
    """Change an open task; ``None`` leaves a field. ``rrule=""`` ends the recurrence (the task
    becomes a one-off at its current occurrence); a new rule starts its series at the (new) due
    moment, which must be one of its occurrences. ``reminders`` replaces the reminders (``["15m",
    "1d"]``, ``[]`` none); a kept offset is not announced twice for the same due moment."""
    task = get_task(uow, task_id, for_update=True)
    _require_open(task, "changed")
    before = {**task_event_data(task), "rrule": task.rrule, "notes": task.notes}
    if title is not None:
        task.title = _title(title)
    if notes is not None:
        task.notes = check_text(notes.strip(), "notes") or None
    if priority is not None:
        task.priority = parse_priority(priority)
    if due not in (None, ""):
        when = parse_due(due, now=uow.now(), tz=task.timezone)
        task.all_day = when.all_day
        _set_due(task, when.at)
    if rrule is not None:
        if not rrule.strip():
            task.rrule = task.series_start = task.occurrence_at = None
            task.exdates = []
        else:
            rule = recurrence.normalize_rule(rrule, tz=task.timezone)
            first = recurrence.check_has_occurrence(rule, task.due_at, task.timezone)
            if first != task.due_at:
                zone = ZoneInfo(task.timezone)
                due_text = f"{task.due_at.astimezone(zone):%Y-%m-%d %H:%M}"
                raise ValidationError(
                    f"the due moment {due_text} is not an occurrence of {rule!r} (the first is "
                    f"{first.astimezone(zone):%Y-%m-%d %H:%M})",
                    field="rrule",
                )
            if rule != task.rrule:
                task.rrule, task.series_start, task.occurrence_at = rule, task.due_at, task.due_at
                task.exdates = []
    if reminders is not None:
        offsets = sorted(
            {parse_minutes(r, field="remind", allow_zero=True) for r in reminders}, reverse=True
        )
        kept = {r.minutes_before: r for r in task.reminders}
        task.reminders = [kept.get(m) or TaskReminder(minutes_before=m) for m in offsets]
        arm_reminders(task)
    _touch(uow, task)
    uow.session.flush()
    after = {**task_event_data(task), "rrule": task.rrule, "notes": task.notes}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if reminders is not None:
        changes["reminders"] = [r.minutes_before for r in task.reminders]
    uow.audit("update", "task", task.id, changes, customer_id=task.customer_id)
    uow.emit("tasks_task_updated", customer_id=task.customer_id, data=after)
    return task


def cancel_task(uow, task_id: int | str, *, reason: str | None = None) -> Task:
    task = get_task(uow, task_id, for_update=True)
    _require_open(task, "cancelled")
    _close(uow, task, "cancelled")
    _touch(uow, task)
    uow.audit("cancel", "task", task.id, {"reason": reason}, customer_id=task.customer_id)
    uow.emit(
        "tasks_task_cancelled",
        customer_id=task.customer_id,
        data={**task_event_data(task), "reason": reason},
    )
    return task


def list_tasks(
    uow,
    *,
    assignee: str | None = None,
    customer: Any = None,
    state: str = "open",
    overdue: bool = False,
    ref: Any = None,
    limit: int = 200,
) -> list[Task]:
    q = select(Task).options(selectinload(Task.reminders))
    if assignee:
        q = q.where(Task.assignee == check_assignee(uow, assignee))
    if customer is not None:
        q = q.where(Task.customer_id == _customer(uow, customer).id)
    if state != "all":
        if state not in ("open", "done", "cancelled"):
            raise ValidationError(
                f"{state!r} is not a state (open, done, cancelled, all)", field="state"
            )
        q = q.where(Task.state == state)
    if overdue:
        q = q.where(Task.state == "open", Task.overdue_at <= uow.now())
    if ref is not None:
        ref_type, ref_id = parse_reference(ref, field="ref")
        q = q.where(Task.ref_type == ref_type, Task.ref_id == ref_id)
    q = q.order_by(Task.due_at, Task.id).limit(limit)
    tasks = list(uow.session.scalars(q))
    tasks.sort(key=lambda t: (t.due_at, PRIORITY_RANK[t.priority], t.id))
    return tasks


def agenda(uow, *, assignee: str, day: Any = None) -> dict[str, list[Task]]:
    """The open tasks of ``assignee`` due on ``day`` (local, default today), and those due before it."""
    from .values import local_midnight

    user = check_assignee(uow, assignee)
    tz = uow.app.timezone
    local_day = (
        (parse_due(day, now=uow.now(), tz=tz).at if day else uow.now())
        .astimezone(ZoneInfo(tz))
        .date()
    )
    start = local_midnight(local_day, tz)
    end = local_midnight(local_day + timedelta(days=1), tz)
    base = (
        select(Task)
        .options(selectinload(Task.reminders))
        .where(Task.state == "open", Task.assignee == user)
    )
    key = lambda t: (t.due_at, PRIORITY_RANK[t.priority], t.id)  # noqa: E731
    return {
        "overdue": sorted(uow.session.scalars(base.where(Task.due_at < start)), key=key),
        "today": sorted(
            uow.session.scalars(base.where(Task.due_at >= start, Task.due_at < end)), key=key
        ),
    }


def task_event_data(task: Task) -> dict[str, Any]:
    """The JSON-ready outbox payload of a task event."""
    return {
        "task_id": task.id,
        "uid": task.uid,
        "kind": task.kind,
        "title": task.title,
        "state": task.state,
        "assignee": task.assignee,
        "due_at": task.due_at.isoformat(),
        "all_day": task.all_day,
        "priority": task.priority,
        "reference": ref_string(task),
        "source": task.source,
        "dedup_key": task.dedup_key,
    }


def ref_string(task: Task) -> str | None:
    return f"{task.ref_type}:{task.ref_id}" if task.ref_type else None


def is_overdue(task: Task, now: datetime) -> bool:
    return task.state == "open" and task.overdue_at <= now
