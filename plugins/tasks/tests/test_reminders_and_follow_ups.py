from datetime import datetime, timedelta, timezone

import pytest
from crmcore_tasks.models import Task
from crmcore_tasks.service import complete_task, snooze_task

from crmcore.api import hookimpl, record_interaction
from crmcore.testing import make_customer, outbox_events, run_jobs

UTC = timezone.utc


def run_reminders(app, now=None):
    [result] = run_jobs(app, now=now, only=["tasks.reminders"])
    assert result["ok"], result
    return result["summary"]


def test_reminders_are_announced_once_when_due_and_again_after_a_snooze(
    app_with_recorder, recorder, customer, h
):
    app = app_with_recorder
    tid = h.add(
        customer, title="تماس", due="2025-03-21 14:00", reminders=["15m", "1h"]
    )  # 10:30 UTC
    app.clock.set(datetime(2025, 3, 21, 9, 29, tzinfo=UTC))
    assert run_reminders(app)["announced"] == 0
    app.clock.set(datetime(2025, 3, 21, 9, 30, tzinfo=UTC))  # 1h before
    assert run_reminders(app) == {"announced": 1, "superseded": 0, "tasks": 1, "notified": 0}
    assert run_reminders(app)["announced"] == 0  # not twice
    app.clock.set(datetime(2025, 3, 21, 10, 15, tzinfo=UTC))  # 15m before
    assert run_reminders(app)["announced"] == 1
    due = datetime(2025, 3, 21, 10, 30, tzinfo=UTC)
    assert recorder.reminders == [(tid, 60, due), (tid, 15, due)]
    payloads = [e["payload"] for e in outbox_events(app, "tasks_reminder_due")]
    assert [p["minutes_before"] for p in payloads] == [60, 15] and payloads[0]["title"] == "تماس"
    with app.unit_of_work() as uow:
        snooze_task(uow, tid, by="1h")  # due 11:30 UTC now
    app.clock.set(datetime(2025, 3, 21, 11, 16, tzinfo=UTC))
    # both due again: the closest
    assert run_reminders(app) == {"announced": 1, "superseded": 1, "tasks": 1, "notified": 0}
    assert recorder.reminders[-1] == (tid, 15, due + timedelta(hours=1))


def test_overdue_and_closed_tasks_are_not_reminded(app_with_recorder, recorder, customer, h):
    app = app_with_recorder
    h.add(customer, due="2025-03-21 12:00", reminders=["30m"])  # 08:30 UTC: already past
    done = h.add(customer, due="2025-03-21 13:00", reminders=["1h"])
    with app.unit_of_work() as uow:
        complete_task(uow, done)
    assert run_reminders(app)["announced"] == 0
    assert recorder.reminders == []


def test_a_recurring_task_is_reminded_for_each_occurrence(app_with_recorder, recorder, customer, h):
    app = app_with_recorder
    tid = h.add(
        customer,
        kind="meeting",
        due="2025-03-22 10:00",
        rrule="FREQ=DAILY;COUNT=2",
        reminders=["1d"],
    )
    assert run_reminders(app, now=datetime(2025, 3, 21, 6, 30, tzinfo=UTC))["announced"] == 1
    with app.unit_of_work() as uow:
        complete_task(uow, tid)
    assert run_reminders(app, now=datetime(2025, 3, 22, 6, 30, tzinfo=UTC))["announced"] == 1
    assert [r[2].day for r in recorder.reminders] == [22, 23]


class FakeVoip:
    """Another plugin: a missed call asks tasks for a call-back, de-duplicated per caller."""

    def __init__(self):
        self.returned = []

    @hookimpl
    def crm_interaction_recorded(self, uow, interaction, customer):
        if interaction.kind != "call" or not interaction.payload.get("missed"):
            return
        if not uow.has_plugin("tasks"):
            return
        task = uow.call(
            "tasks_create_follow_up",
            customer_id=customer.id,
            title="تماس مجدد: تماس بی‌پاسخ",
            kind="call_back",
            due_at=None,
            dedup_key=f"fakevoip:missed:{customer.id}",
            source="fakevoip",
            reference=f"interaction:{interaction.id}",
        )
        self.returned.append(task.id)


def missed_call(app, customer_id):
    from crmcore.api import get_customer

    with app.unit_of_work() as uow:
        record_interaction(
            uow,
            get_customer(uow.session, customer_id),
            kind="call",
            direction="in",
            payload={"missed": True},
        )


@pytest.fixture
def voip():
    return FakeVoip()


@pytest.fixture
def voip_app(crm_app, crm_app_factory, voip, recorder):
    return crm_app_factory(
        extra_plugins=[("fakevoip", voip, None), ("recorder", recorder, None)], clock=crm_app.clock
    )


def test_repeated_missed_calls_create_one_call_back_until_it_is_done(
    voip_app, voip, recorder, users, h
):
    app = voip_app
    with app.unit_of_work() as uow:
        from crmcore.api import add_customer

        cid = add_customer(uow, name="Ali", phones=["09350000000"], owner="sara").id
    for _ in range(3):
        missed_call(app, cid)
    assert len(set(voip.returned)) == 1 and len(voip.returned) == 3
    [tid] = set(voip.returned)
    t = h.get(tid)
    assert (t["kind"], t["source"], t["assignee"], t["dedup_key"]) == (
        "call_back",
        "fakevoip",
        "sara",
        f"fakevoip:missed:{cid}",
    )
    assert t["reference"].startswith("interaction:")
    assert len(outbox_events(app, "tasks_task_created")) == 1
    with app.unit_of_work() as uow:
        complete_task(uow, tid)
    assert recorder.completed == [(tid, "done", datetime(2025, 3, 21, 9, 0, tzinfo=UTC))]
    missed_call(app, cid)  # a new missed call after the call-back: a new task
    assert voip.returned[-1] != tid
    assert h.count(Task) == 2


def test_follow_ups_of_different_callers_are_separate_and_owner_not_a_user_is_left_unassigned(
    voip_app, voip, h
):
    a = make_customer(voip_app, "A", owner="someone-else")
    b = make_customer(voip_app, "B")
    missed_call(voip_app, a)
    missed_call(voip_app, b)
    assert len(set(voip.returned)) == 2
    assert h.get(voip.returned[0])["assignee"] is None


def test_the_other_plugin_works_without_tasks_enabled(crm_app_factory, voip):
    app = crm_app_factory(plugins=[], extra_plugins=[("fakevoip", voip, None)])
    cid = make_customer(app, "C")
    missed_call(app, cid)
    assert voip.returned == []


def test_a_follow_up_with_a_bad_kind_rolls_back_the_callers_work(crm_app, customer, h):
    from crmcore.api import PluginHookError

    with pytest.raises(PluginHookError, match="not a task kind"):
        with crm_app.unit_of_work() as uow:
            uow.call(
                "tasks_create_follow_up",
                customer_id=customer,
                title="x",
                kind="party",
                due_at=None,
                dedup_key=None,
                source="test",
                reference=None,
            )
    assert h.count(Task) == 0


def test_concurrent_creation_with_the_same_key_returns_the_winner(
    crm_app, crm_app_factory, customer, h, monkeypatch
):
    """Two transactions race: the loser's look-ups ran before the winner committed, so its insert clashes
    with the unique open key; it rolls back to a savepoint and returns the winner's task."""
    from crmcore_tasks import service

    with crm_app.unit_of_work() as uow:
        first_id = service.create_follow_up(
            uow, customer_id=customer, title="t", dedup_key="race"
        ).id
    original = service.find_open_by_key
    calls = []

    def stale_then_fresh(uow, key):
        calls.append(key)
        return None if len(calls) <= 2 else original(uow, key)

    monkeypatch.setattr(service, "find_open_by_key", stale_then_fresh)
    other = crm_app_factory(clock=crm_app.clock)
    with other.unit_of_work() as uow:
        second = service.create_follow_up(uow, customer_id=customer, title="t", dedup_key="race")
        assert second.id == first_id
    assert len(calls) == 3
    assert h.count(Task) == 1
    assert len(outbox_events(crm_app, "tasks_task_created")) == 1
