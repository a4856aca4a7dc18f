"""Call logging, idempotence, out-of-order events, unknown callers and missed-call follow-ups."""

from datetime import datetime, timedelta, timezone

import pytest
from crmcore_voip.events import CallEvent
from crmcore_voip.models import Call, FollowUp
from crmcore_voip.service import handle_call_event
from sqlalchemy import select

from crmcore.api import (
    ProfileSection,
    add_customer,
    hookimpl,
    hookspec,
    list_interactions,
    update_customer,
)
from crmcore.testing import (
    assert_migrations_match_models,
    make_customer,
    outbox_events,
    record_purchase,
)

T0 = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)  # the tests' frozen clock (conftest)


def ev(kind, call_id, seconds=0, *, source="webhook", caller="09121234567", **kw):
    return CallEvent(
        kind=kind,
        source=source,
        call_id=call_id,
        at=T0 + timedelta(seconds=seconds),
        caller=caller,
        callee="02191001000",
        direction=kw.pop("direction", "in"),
        **kw,
    )


def feed(app, *events):
    with app.unit_of_work() as uow:
        return [handle_call_event(uow, e) for e in events]


def rows(app, model):
    with app.unit_of_work(readonly=True) as uow:
        found = list(uow.session.scalars(select(model).order_by(model.id)))
        uow.session.expunge_all()  # keep the loaded values after the read-only rollback
        return found


def calls_of(app, cid):
    with app.unit_of_work(readonly=True) as uow:
        found = list_interactions(uow.session, cid, kind="call")
        uow.session.expunge_all()
        return found


def answered_call(call_id, at=0, ext="101"):
    return [
        ev("ringing", call_id, at, extension=ext),
        ev("answered", call_id, at + 8, agent=ext),
        ev("hangup", call_id, at + 128, recording_url="https://pbx.example/rec/1.wav"),
    ]


def test_migrations_match_models(app):
    assert_migrations_match_models(app, "voip")


def test_answered_call_becomes_one_interaction_with_duration_and_agent(app):
    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    outcomes = feed(app, *answered_call("c1"))
    assert [o.action for o in outcomes] == ["created", "updated", "ended"]
    [i] = calls_of(app, cid)
    assert (i.channel, i.direction, i.occurred_at, i.external_id) == (
        "phone",
        "in",
        T0,
        "webhook:c1",
    )
    assert i.payload["duration_seconds"] == 120 and i.payload["answered_by"] == "101"
    assert (
        i.payload["recording_url"] == "https://pbx.example/rec/1.wav"
        and i.payload["ring_seconds"] == 8
    )
    [call] = rows(app, Call)
    assert (call.status, call.talk_seconds, call.customer_id, call.interaction_id) == (
        "completed",
        120,
        cid,
        i.id,
    )
    names = [e["event"] for e in outbox_events(app) if e["event"].startswith("voip_")]
    assert names == ["voip_incoming_call", "voip_call_ended"]


def test_repeated_events_never_duplicate_the_interaction(app):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    events = answered_call("c2")
    feed(app, *events)
    outcomes = feed(app, *events, *events)
    assert {o.action for o in outcomes} == {"duplicate"}
    assert len(calls_of(app, cid)) == 1 and len(rows(app, Call)) == 1
    assert [e["event"] for e in outbox_events(app, "voip_incoming_call")] == ["voip_incoming_call"]


def test_hangup_before_answer_is_corrected_when_the_answer_arrives_late(app):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, ev("ringing", "c3", 0, extension="101"), ev("hangup", "c3", 60))
    assert rows(app, Call)[0].status == "missed"
    [o] = feed(app, ev("answered", "c3", 10, agent="101"))
    assert o.action == "corrected"
    call = rows(app, Call)[0]
    assert (call.status, call.talk_seconds, call.answered_by) == ("completed", 50, "101")
    [i] = calls_of(app, cid)
    assert i.payload["answered"] is True and i.payload["duration_seconds"] == 50


def test_hangup_without_any_earlier_event_still_logs_the_call(app):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, ev("hangup", "c4", 30))
    assert [c.status for c in rows(app, Call)] == ["missed"] and len(calls_of(app, cid)) == 1


def test_recording_arriving_after_the_call_updates_the_interaction(app):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, ev("ringing", "c5", 0), ev("answered", "c5", 5), ev("hangup", "c5", 65))
    [o] = feed(app, ev("info", "c5", 90, recording_url="https://pbx.example/rec/5.mp3"))
    assert o.action == "updated"
    assert calls_of(app, cid)[0].payload["recording_url"] == "https://pbx.example/rec/5.mp3"
    assert feed(app, ev("info", "unknown-call", 90, recording_url="x"))[0].action == "ignored"


def test_unknown_caller_gets_a_suggestion_and_joins_history_when_added(app):
    [o, *_] = feed(app, *answered_call("c6"))
    assert o.pop["customer"] is None
    assert (
        o.pop["suggestion"]["action"] == "create_customer"
        and o.pop["suggestion"]["phone"] == "+989121234567"
    )
    with app.unit_of_work() as uow:
        cid = add_customer(uow, name="سارا کریمی", phones=["0912 123 4567"]).id
    [i] = calls_of(app, cid)
    assert i.payload["call_key"] == "webhook:c6" and rows(app, Call)[0].customer_id == cid


def test_phone_added_to_an_existing_customer_links_past_calls(app):
    feed(app, *answered_call("c7", ext="102"))
    cid = make_customer(app, "رضا", phones=["09350000000"])
    with app.unit_of_work() as uow:
        update_customer(uow, cid, add_phones=["+98 912 123 4567"])
    assert len(calls_of(app, cid)) == 1


def test_screen_pop_gathers_profile_sections_of_other_plugins(app_with):
    class Tiers:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            return ProfileSection(key="tiers", title="Tier", data={"tier": "gold"})

    class Tickets:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            return ProfileSection(key="tickets", title="Tickets", data={"open": 2})

    app = app_with(("tiers", Tiers(), None), ("tickets", Tickets(), None))
    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    record_purchase(app, cid, "2500000", at="2025-03-01T10:00:00+03:30")
    [o] = feed(app, ev("ringing", "p1", 0, extension="101"))
    assert o.pop["customer"] == {
        "id": cid,
        "name": "مریم رضایی",
        "kind": "person",
        "city": None,
        "tags": [],
    }
    assert o.pop["summary"]["tier"] == "gold" and o.pop["summary"]["open_tickets"] == 2
    assert o.pop["summary"]["last_purchase"]["amount"] == "2500000"
    [event] = outbox_events(app, "voip_incoming_call")
    assert event["customer_id"] == cid and event["payload"]["summary"]["tier"] == "gold"


def test_a_failing_profile_plugin_costs_its_section_not_the_pop(app_with, caplog):
    class Broken:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            raise RuntimeError("boom")

    app = app_with(("broken", Broken(), None))
    make_customer(app, "مریم", phones=["09121234567"])
    [o] = feed(app, ev("ringing", "p2", 0))
    assert o.pop["customer"]["name"] == "مریم" and o.pop["sections"] == {}
    assert "without profile sections" in caplog.text


def test_two_customers_sharing_a_number(app):
    a = make_customer(app, "شرکت الف", phones=["02188888888"], kind="organisation")
    b = make_customer(app, "علی", phones=["021 8888 8888"])
    [o] = feed(app, ev("ringing", "p3", 0, caller="88888888"))
    assert o.pop["customer"]["id"] in (a, b) and len(o.pop["other_matches"]) == 1


# --- missed-call follow-up -------------------------------------------------------------------------------
def missed(call_id, at, caller="09121234567"):
    return [
        ev("ringing", call_id, at, caller=caller, extension="101"),
        ev("missed", call_id, at + 20, caller=caller, cause="no-answer"),
    ]


def test_missed_call_follow_up_kept_here_once_per_caller_per_hour(app):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, *missed("m1", 0))
    feed(app, *missed("m2", 1800))  # 30 minutes later: same follow-up
    feed(app, *missed("m3", 600, caller="09350000000"))  # another caller: their own
    feed(app, *missed("m4", 3700))  # over an hour after the first: a new one
    ups = rows(app, FollowUp)
    assert [(f.caller_e164, f.missed_calls, f.via, f.status) for f in ups] == [
        ("+989121234567", 2, "voip", "open"),
        ("+989350000000", 1, "voip", "open"),
        ("+989121234567", 1, "voip", "open"),
    ]
    assert ups[0].customer_id == cid and ups[1].customer_id is None
    assert ups[0].due_at == T0 + timedelta(minutes=30)
    assert "مریم" in ups[0].title
    assert len(outbox_events(app, "voip_missed_call")) == 4


def test_outbound_unanswered_calls_need_no_follow_up(app):
    make_customer(app, "مریم", phones=["09121234567"])
    feed(
        app,
        CallEvent(
            kind="ringing",
            source="ami",
            call_id="o1",
            at=T0,
            caller="101",
            callee="09121234567",
            extension="101",
            direction="out",
        ),
        CallEvent(kind="hangup", source="ami", call_id="o1", at=T0 + timedelta(seconds=30)),
    )
    assert rows(app, FollowUp) == [] and rows(app, Call)[0].status == "missed"
    assert outbox_events(app, "voip_incoming_call") == []


def test_withheld_numbers_are_logged_without_follow_up(app):
    feed(app, *missed("m5", 0, caller="anonymous"))
    [call] = rows(app, Call)
    assert (call.party_kind, call.party_e164, call.status) == ("withheld", None, "missed")
    assert rows(app, FollowUp) == []


class TasksSpec:
    @hookspec(firstresult=True)
    def tasks_create_follow_up(
        self, uow, customer_id, title, kind, due_at, dedup_key, source, reference
    ):
        """Return the task (the existing one for a repeated dedup_key)."""


class TicketsSpec:
    @hookspec(firstresult=True)
    def tickets_create_ticket(
        self, uow, customer_id, subject, body, channel, priority, dedup_key, source
    ):
        """Open a ticket."""


class FakeTasks:
    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    @hookimpl
    def tasks_create_follow_up(
        self, uow, customer_id, title, kind, due_at, dedup_key, source, reference
    ):
        if self.fail:
            raise RuntimeError("tasks table is locked")
        self.calls.append(
            dict(
                customer_id=customer_id,
                title=title,
                kind=kind,
                due_at=due_at,
                dedup_key=dedup_key,
                source=source,
                reference=reference,
            )
        )
        return {"id": 41 + len(self.calls)}


class FakeTickets:
    def __init__(self):
        self.calls = []

    @hookimpl
    def tickets_create_ticket(
        self, uow, customer_id, subject, body, channel, priority, dedup_key, source
    ):
        self.calls.append(
            dict(
                customer_id=customer_id,
                subject=subject,
                body=body,
                channel=channel,
                priority=priority,
                dedup_key=dedup_key,
                source=source,
            )
        )
        return type("Ticket", (), {"id": 7})()


def test_missed_call_becomes_a_call_back_task_when_tasks_is_installed(app_with):
    tasks = FakeTasks()
    app = app_with(("tasks", tasks, TasksSpec), ("tickets", FakeTickets(), TicketsSpec))
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, *missed("t1", 0))
    feed(app, *missed("t2", 900))
    [task] = tasks.calls  # once per caller per hour
    assert task["customer_id"] == cid and task["kind"] == "call_back" and task["source"] == "voip"
    assert task["reference"] == "webhook:t1" and task["due_at"] == T0 + timedelta(minutes=30)
    assert task["dedup_key"] == "voip:missed:+989121234567:20250321T090000"
    [f] = rows(app, FollowUp)
    assert (f.via, f.reference, f.status, f.missed_calls) == ("tasks", "42", "handed_over", 2)


def test_missed_call_becomes_a_ticket_when_only_tickets_is_installed(app_with):
    tickets = FakeTickets()
    app = app_with(("tickets", tickets, TicketsSpec))
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, *missed("k1", 0))
    [t] = tickets.calls
    assert (t["customer_id"], t["channel"], t["priority"], t["source"]) == (
        cid,
        "phone",
        "normal",
        "voip",
    )
    assert "+989121234567" in t["body"] and "101" in t["body"]
    assert [(f.via, f.reference) for f in rows(app, FollowUp)] == [("tickets", "7")]


def test_a_failing_tasks_plugin_never_loses_the_call(app_with, caplog):
    app = app_with(("tasks", FakeTasks(fail=True), TasksSpec))
    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, *missed("f1", 0))
    assert [(f.via, f.status) for f in rows(app, FollowUp)] == [("voip", "open")]
    assert len(calls_of(app, cid)) == 1
    assert "tasks_create_follow_up failed" in caplog.text


# --- kernel events, report, job -------------------------------------------------------------------------
def test_merge_moves_calls_and_forget_erases_numbers(app):
    from crmcore.api import forget_customer, merge_customers

    a = make_customer(app, "مریم", phones=["09121234567"])
    b = make_customer(app, "مریم ر", phones=["09350000000"])
    feed(app, *missed("g1", 0, caller="09350000000"))
    with app.unit_of_work() as uow:
        merge_customers(uow, a, b)
    assert {c.customer_id for c in rows(app, Call)} == {a} and rows(app, FollowUp)[
        0
    ].customer_id == a
    with app.unit_of_work() as uow:
        forget_customer(uow, a)
    [call] = rows(app, Call)
    assert (call.caller, call.party_e164, call.status) == (None, None, "missed")
    assert rows(app, FollowUp)[0].caller_e164 == "forgotten"


def test_profile_section(app):
    from crmcore.api import get_customer

    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, *answered_call("s1"), *missed("s2", 400))
    with app.unit_of_work(readonly=True) as uow:
        [section] = [
            s
            for s in uow.call("crm_customer_profile", customer=get_customer(uow.session, cid))
            if s
        ]
    assert (section.key, section.title.fa) == ("voip", "تماس‌ها")
    assert (section.data["calls"], section.data["answered"], section.data["missed"]) == (2, 1, 1)
    assert section.data["open_follow_ups"] == 1 and section.data["recent"][0]["status"] == "missed"
    from crmcore.testing import assert_persian_panel, panel_html, panel_text

    html = panel_html(app, cid, "voip", lang="fa")
    assert_persian_panel(html)
    assert "بی‌پاسخ" in html and "پاسخ داده شد" in html
    assert "missed" in panel_text(app, cid, "voip", lang="en")


def test_calls_report_per_agent_and_period(app):
    from crmcore.api import ReportParams, run_report

    make_customer(app, "مریم", phones=["09121234567"])
    feed(
        app,
        *answered_call("r1", 0, "101"),
        *answered_call("r2", 400, "101"),
        *answered_call("r3", 800, "102"),
        *missed("r4", 1200),
        ev("ringing", "r5", 1300),
    )
    with app.unit_of_work(readonly=True) as uow:
        out = run_report(uow, "voip.calls", ReportParams(period="day", options={"direction": "in"}))
    assert out["columns"][:7] == [
        "period",
        "agent",
        "calls",
        "answered",
        "answered_pct",
        "missed",
        "avg_handling_seconds",
    ]
    assert [r[1:7] for r in out["rows"]] == [
        ["101", 3, 2, "66.7", 1, 120],
        ["102", 1, 1, "100.0", 0, 120],
    ]
    assert (
        out["totals"]["calls"] == 4 and out["totals"]["answered_pct"] == "75.0"
    )  # the ringing call is not done
    with pytest.raises(Exception, match="direction must be"):
        with app.unit_of_work(readonly=True) as uow:
            run_report(uow, "voip.calls", ReportParams(options={"direction": "sideways"}))


def test_stale_call_job_closes_calls_whose_hangup_never_came(app):
    from crmcore.testing import run_jobs

    make_customer(app, "مریم", phones=["09121234567"])
    feed(app, ev("ringing", "z1", 0), ev("ringing", "z2", 0), ev("answered", "z2", 10))
    [result] = run_jobs(app, now=T0 + timedelta(hours=1), only=["voip.close_stale_calls"])
    assert result["summary"] == {"closed": 0, "missed": 0}
    [result] = run_jobs(app, now=T0 + timedelta(hours=7), only=["voip.close_stale_calls"])
    assert result["summary"] == {"closed": 2, "missed": 1}
    assert [(c.status, c.details["closed_by"][:20]) for c in rows(app, Call)] == [
        ("missed", "no hang-up from the "),
        ("completed", "no hang-up from the "),
    ]


def test_calls_on_the_customer_timeline_say_answered_and_how_long_or_missed(app):
    """The kernel's call interactions on the 360° timeline carry voip's outcome
    (``crm_interaction_details``)."""
    from crmcore.testing import customer_timeline

    cid = make_customer(app, "مریم", phones=["09121234567"])
    feed(app, *answered_call("c1"))
    feed(app, ev("ringing", "c2", 600), ev("hangup", "c2", 630))
    with app.unit_of_work(readonly=True) as uow:
        from crmcore.api import get_customer

        page = customer_timeline(uow, get_customer(uow.session, cid), only="kernel")
        details = [entry.detail for _plugin, entry in page.entries]
    assert [(d.en, d.fa) for d in details] == [
        ("missed", "بی‌پاسخ"),
        ("answered · 2:00", "پاسخ داده شد · ۲:۰۰"),
    ]
