"""Tables of the tasks plugin: the people tasks are assigned to, tasks (one row per task or recurring series),
their reminders, and the log of completed occurrences (what ``tasks.completed`` counts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, case
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, JSONType, utcnow

from .values import KIND_LABELS_FA


class TaskUser(Base):
    """Someone tasks can be assigned to (``crm tasks users add``); an unknown assignee is refused."""

    __tablename__ = "tasks_users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    """A task or appointment of one customer. A recurring task is one row (a series, iCalendar style):
    ``series_start`` + ``rrule`` define its occurrences, ``occurrence_at`` is the current open one and
    ``due_at`` is when it is due (later than ``occurrence_at`` when snoozed)."""

    __tablename__ = "tasks_tasks"
    __customer_data__ = CustomerData(
        erase={
            "title": lambda m: case(KIND_LABELS_FA, value=m.kind, else_=m.kind),
            "notes": None,
            "location": None,
            "dedup_key": None,
            "open_dedup_key": None,
        },
        keep=(
            "uid",
            "kind",
            "priority",
            "state",
            "timezone",
            "rrule",
            "exdates",
            "ref_type",
            "ref_id",
            "source",
            "created_by",
            "closed_by",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: stable iCalendar UID (``task-<uuid>@crmcore``, or the UID of the imported event)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[Optional[str]] = mapped_column(Text)
    location: Mapped[Optional[str]] = mapped_column(String(300))
    assignee: Mapped[Optional[str]] = mapped_column(ForeignKey("tasks_users.username"), index=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    state: Mapped[str] = mapped_column(String(10), default="open")
    #: all-day tasks are due on a local date (``due_at`` is local midnight of that date in ``timezone``)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    #: when the task counts as overdue: ``due_at`` for timed tasks, the next local midnight for all-day ones
    overdue_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    rrule: Mapped[Optional[str]] = mapped_column(String(500))
    series_start: Mapped[Optional[datetime]]
    occurrence_at: Mapped[Optional[datetime]]
    #: occurrences removed from the series (EXDATE of an imported calendar), as ISO UTC strings
    exdates: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: generic link to a plugin record: ``deal``/``17``, ``ticket``/``42``…
    ref_type: Mapped[Optional[str]] = mapped_column(String(40))
    ref_id: Mapped[Optional[str]] = mapped_column(String(100))
    source: Mapped[Optional[str]] = mapped_column(String(60))
    dedup_key: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    #: equals ``dedup_key`` while the task is open, NULL after: at most one open task per key (unique)
    open_dedup_key: Mapped[Optional[str]] = mapped_column(String(200), unique=True)
    #: iCalendar SEQUENCE: bumped on each change so subscribed calendars replace the event
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[Optional[str]] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[Optional[datetime]]
    closed_by: Mapped[Optional[str]] = mapped_column(String(100))

    reminders: Mapped[list["TaskReminder"]] = relationship(
        back_populates="task",
        cascade="all, delete-orphan",
        order_by="TaskReminder.minutes_before.desc()",
    )

    __table_args__ = (
        Index("ix_tasks_tasks_state_assignee_overdue", "state", "assignee", "overdue_at"),
        Index("ix_tasks_tasks_ref", "ref_type", "ref_id"),
    )

    @property
    def recurring(self) -> bool:
        return self.rrule is not None


class TaskReminder(Base):
    """A reminder ``minutes_before`` the task is due, announced once per occurrence by the reminders job."""

    __tablename__ = "tasks_reminders"
    __customer_data__ = CustomerData(via="task_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks_tasks.id", ondelete="CASCADE"), index=True
    )
    minutes_before: Mapped[int] = mapped_column(Integer)
    #: when to announce it: the task's ``due_at`` minus ``minutes_before`` (kept in step by ``arm_reminders``)
    remind_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    #: the ``due_at`` this reminder was last announced for (a snooze or the next occurrence re-arms it)
    announced_for: Mapped[Optional[datetime]]
    announced_at: Mapped[Optional[datetime]]
    task: Mapped[Task] = relationship(back_populates="reminders")


class TaskCompletion(Base):
    """One completed occurrence (a one-off task has one; a recurring series one per occurrence done)."""

    __tablename__ = "tasks_completions"
    __customer_data__ = CustomerData(
        erase={"note": None}, keep=("assignee", "kind", "completed_by")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks_tasks.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    assignee: Mapped[Optional[str]] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    completed_at: Mapped[datetime] = mapped_column(index=True)
    completed_by: Mapped[Optional[str]] = mapped_column(String(100))
    #: completed after the occurrence had become overdue
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[Optional[str]] = mapped_column(Text)


class CalendarConnection(Base):
    """A user's CalDAV calendar (``crm tasks calendar connect``): where their tasks are kept in step.
    ``password_ref`` is a reference (``env:NAME``), never the password itself."""

    __tablename__ = "tasks_calendar_connections"

    username: Mapped[str] = mapped_column(
        ForeignKey("tasks_users.username", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(500))
    login: Mapped[Optional[str]] = mapped_column(String(200))
    password_ref: Mapped[Optional[str]] = mapped_column(String(200))
    #: ``events`` (every task a VEVENT) or ``mixed`` (VTODO for tasks that are not appointments)
    style: Mapped[str] = mapped_column(String(10), default="mixed")
    #: the RFC 6578 token of the last sync; NULL until the first one
    sync_token: Mapped[Optional[str]] = mapped_column(String(500))
    last_sync_at: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarItem(Base):
    """Where one task lives in its user's CalDAV calendar: the object's href and the ETag seen last, and
    the task's ``sequence`` when the two sides last agreed (a higher one means a change to send)."""

    __tablename__ = "tasks_calendar_items"

    # the calendar copy of a task (its href names the task's UID, not the person): deleted from
    # the calendar with the task; nothing personal here
    __customer_data__ = CustomerData(via="task_id", keep=("username", "href", "etag"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("tasks_calendar_connections.username", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks_tasks.id", ondelete="CASCADE"), index=True
    )
    href: Mapped[str] = mapped_column(String(1000))
    etag: Mapped[Optional[str]] = mapped_column(String(200))
    synced_sequence: Mapped[Optional[int]] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("username", "task_id", name="uq_tasks_calendar_items_username_task_id"),
        UniqueConstraint("username", "href", name="uq_tasks_calendar_items_username_href"),
    )
