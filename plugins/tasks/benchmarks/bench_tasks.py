"""Tasks figures, each beside a raw baseline measured in the same run.

1. iCalendar export of one user's N tasks (query, zones, RRULE, VALARM, VTIMEZONE, serialise) vs a bare
   icalendar build of N events with only UID/DTSTART/SUMMARY from a plain Core SELECT of the same rows
2. finding due reminders among M open tasks (the job's query and filter) vs a plain SQL SELECT of the
   same reminder rows

Run: .venv/bin/python plugins/tasks/benchmarks/bench_tasks.py [export_tasks] [all_tasks]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("CRMCORE_PLUGINS_ONLY", "tasks")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def show(label: str, n: int, seconds: float, baseline: float) -> None:
    print(
        f"{label:<40} {n:>7,} rows  {seconds * 1000:>8.1f} ms   baseline {baseline * 1000:>8.1f} ms   "
        f"ratio {seconds / baseline:>5.1f}x"
    )


def build(path: Path, export_tasks: int, all_tasks: int):
    from crmcore_tasks.models import Task, TaskReminder
    from crmcore_tasks.users import add_user
    from sqlalchemy import insert

    from crmcore.api import CRM, add_customer
    from crmcore.testing import FrozenClock

    now = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)
    app = CRM(f"sqlite:///{path}", plugins=["tasks"], clock=FrozenClock(now))
    app.init()
    rng = random.Random(1403)
    with app.unit_of_work() as uow:
        add_user(uow, "sara", display_name="سارا احمدی")
        add_user(uow, "reza", display_name="رضا کریمی")
        ids = [add_customer(uow, name=f"مشتری {n}").id for n in range(200)]
        rows = []
        for n in range(all_tasks):
            due = now + timedelta(minutes=rng.randrange(-3 * 24 * 60, 30 * 24 * 60))
            rows.append(
                {
                    "uid": f"task-{n}@crmcore",
                    "customer_id": rng.choice(ids),
                    "kind": "call_back",
                    "title": f"تماس شماره {n}",
                    "assignee": "sara" if n < export_tasks else "reza",
                    "priority": "normal",
                    "state": "open",
                    "all_day": False,
                    "timezone": "Asia/Tehran",
                    "due_at": due,
                    "overdue_at": due,
                    "exdates": [],
                    "sequence": 0,
                    "created_at": now,
                    "updated_at": now,
                    "rrule": "FREQ=WEEKLY;COUNT=8" if n % 10 == 0 else None,
                    "series_start": due if n % 10 == 0 else None,
                    "occurrence_at": due if n % 10 == 0 else None,
                }
            )
        uow.session.execute(insert(Task), rows)
        stored = uow.session.execute(
            Task.__table__.select().with_only_columns(Task.id, Task.due_at)
        ).all()
        uow.session.execute(
            insert(TaskReminder),
            [
                {"task_id": t, "minutes_before": 60, "remind_at": due - timedelta(minutes=60)}
                for t, due in stored
            ],
        )
    return app


def main() -> None:
    from crmcore_tasks.ical_export import export_calendar
    from crmcore_tasks.models import Task
    from crmcore_tasks.reminders import due_reminders
    from icalendar import Calendar, Event
    from sqlalchemy import select, text

    export_tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    all_tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        app = build(Path(tmp) / "bench.db", export_tasks, all_tasks)

        def ours():
            with app.unit_of_work(readonly=True) as uow:
                return export_calendar(uow, assignee="sara")

        def raw():
            with app.engine.connect() as conn:
                rows = conn.execute(
                    select(Task.uid, Task.due_at, Task.title).where(Task.assignee == "sara")
                ).all()
            cal = Calendar()
            cal.add("prodid", "-//bench//")
            cal.add("version", "2.0")
            for uid, due, title in rows:
                event = Event()
                event.add("uid", uid)
                event.add("dtstart", due)
                event.add("summary", title)
                cal.add_component(event)
            return cal.to_ical()

        data = ours()
        assert Calendar.from_ical(data).walk("VEVENT"), "the export holds events"
        show("ical export (full vs bare events)", export_tasks, timed(ours), timed(raw))

        now = app.now()

        def reminders():
            with app.unit_of_work(readonly=True) as uow:
                return due_reminders(uow, now)

        def raw_reminders():
            with app.engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT t.id, r.id FROM tasks_tasks t JOIN tasks_reminders r ON r.task_id = t.id "
                        "WHERE t.state = 'open' AND t.overdue_at > :now AND t.due_at <= :soon"
                    ),
                    {
                        "now": now.replace(tzinfo=None),
                        "soon": (now + timedelta(hours=1)).replace(tzinfo=None),
                    },
                ).all()

        found = reminders()
        assert len(found) == len(raw_reminders()), (len(found), len(raw_reminders()))
        show(
            f"due reminders among {all_tasks:,} tasks",
            len(found),
            timed(reminders),
            timed(raw_reminders),
        )
        app.dispose()


if __name__ == "__main__":
    main()
