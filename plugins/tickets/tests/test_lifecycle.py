"""The ticket state machine, the SLA clock through it, and refusals that change nothing."""

import pytest
from crmcore_tickets import service
from crmcore_tickets.models import Ticket, TicketMessage
from tickets_helpers import at, count, standard_setup, tehran

from crmcore.api import Conflict, NotFound, ValidationError
from crmcore.testing import make_customer, outbox_events


@pytest.fixture
def app(crm_app):
    standard_setup(crm_app)
    return crm_app


def open_one(app, **kw):
    cid = kw.pop("customer", None) or make_customer(app, "مریم رضایی", phones=["09121234567"])
    with app.unit_of_work() as uow:
        t = service.open_ticket(
            uow,
            cid,
            subject=kw.pop("subject", "سفارش نرسیده"),
            body=kw.pop("body", "سفارش ۱۲۳ هنوز نرسیده است"),
            **kw,
        )
        return t.id


def ticket(app, tid):
    with app.unit_of_work(readonly=True) as uow:
        t = uow.session.get(Ticket, tid)
        _ = (t.assignee, t.sla_policy, [m.agent for m in t.messages], list(t.tags))
        uow.session.expunge_all()  # keep the loaded values after the read-only transaction ends
        return t


def test_wednesday_1630_with_two_hour_first_response_is_due_thursday_1030(app):
    at(app, 2025, 1, 1, 16, 30)  # Wednesday
    tid = open_one(app)
    t = ticket(app, tid)
    assert t.state == "new" and t.sla_policy.name == "normal"
    assert t.first_response_due_at == tehran(2025, 1, 2, 10, 30)
    # 16 business hours: 0.5 Wed + 4 Thu + 8 Sat + 3.5 Sun
    assert t.resolution_due_at == tehran(2025, 1, 5, 12, 30)
    [event] = outbox_events(app, "tickets_ticket_opened")
    assert event["payload"]["ticket_id"] == tid and event["payload"]["priority"] == "normal"


def test_full_cycle_reply_pending_resume_resolve_reopen_close_csat(app):
    at(app, 2025, 1, 4, 9)  # Saturday
    tid = open_one(app)
    at(app, 2025, 1, 4, 10)
    with app.unit_of_work() as uow:
        service.agent_reply(
            uow, tid, "در حال بررسی هستیم؛ شماره سفارش را بفرستید", agent="sara", pending=True
        )
    t = ticket(app, tid)
    assert t.state == "pending_customer" and t.assignee.username == "sara"
    assert t.first_response_seconds == 3600 and not t.first_response_breached_at
    assert t.sla_paused_at == tehran(2025, 1, 4, 10)
    at(
        app, 2025, 1, 5, 16
    )  # Sunday 16:00: the customer answers; 15 business hours were left at the pause
    with app.unit_of_work() as uow:
        service.customer_reply(uow, tid, "شماره سفارش ۱۲۳ است")
    t = ticket(app, tid)
    assert t.state == "open" and t.sla_paused_at is None
    assert t.paused_seconds == 7 * 3600 + 7 * 3600  # Sat 10–17, Sun 09–16
    # 15h left from Sunday 16:00: 1h Sun, 8h Mon, 6h Tue → Tuesday 15:00
    assert t.resolution_due_at == tehran(2025, 1, 7, 15)
    at(app, 2025, 1, 6, 11)
    with app.unit_of_work() as uow:
        service.resolve(uow, tid)
    t = ticket(app, tid)
    assert (
        t.state == "resolved" and t.resolution_seconds == (1 + 1 + 2) * 3600
    )  # Sat 9–10, Sun 16–17, Mon 9–11
    at(app, 2025, 1, 6, 12)
    with app.unit_of_work() as uow:
        service.customer_reply(uow, tid, "هنوز مشکل دارم")
    t = ticket(app, tid)
    assert (t.state, t.reopen_count, t.resolved_at) == ("open", 1, None)
    assert t.resolution_due_at == tehran(2025, 1, 7, 16)  # the resolved hour (11–12) did not count
    at(app, 2025, 1, 6, 14)
    with app.unit_of_work() as uow:
        service.close(uow, tid)
        service.record_csat(uow, tid, "۴", comment="ممنون")
    t = ticket(app, tid)
    assert (t.state, t.csat_score, t.csat_comment, t.csat_by) == ("closed", 4, "ممنون", None)
    assert t.resolution_seconds == 6 * 3600  # …and Mon 12–14 after the reopening
    names = [e["event"] for e in outbox_events(app) if e["event"].startswith("tickets_")]
    assert names == [
        "tickets_ticket_opened",
        "tickets_ticket_replied",
        "tickets_ticket_replied",
        "tickets_ticket_replied",
        "tickets_ticket_closed",
        "tickets_csat_recorded",
    ]


def test_replies_to_a_closed_ticket_are_refused_and_change_nothing(app):
    at(app, 2025, 1, 4, 9)
    tid = open_one(app)
    with app.unit_of_work() as uow:
        service.close(uow, tid)
    before = count(app, TicketMessage), len(outbox_events(app))
    for reply in (
        lambda uow: service.customer_reply(uow, tid, "سلام دوباره"),
        lambda uow: service.agent_reply(uow, tid, "پاسخ", agent="sara"),
    ):
        with pytest.raises(Conflict, match=f"ticket #{tid} is closed; closed tickets are final"):
            with app.unit_of_work() as uow:
                reply(uow)
    assert (count(app, TicketMessage), len(outbox_events(app))) == before
    assert ticket(app, tid).state == "closed"


@pytest.mark.parametrize(
    "action, error, message",
    [
        (
            lambda uow, tid: service.agent_reply(uow, tid, "x", agent="ghost"),
            NotFound,
            "no agent named 'ghost'",
        ),
        (
            lambda uow, tid: service.assign(uow, tid, agent="ghost"),
            NotFound,
            "no agent named 'ghost'",
        ),
        (
            lambda uow, tid: service.assign(uow, tid, team="nobody"),
            NotFound,
            "no team named 'nobody'",
        ),
        (
            lambda uow, tid: service.record_csat(uow, tid, 4),
            Conflict,
            "CSAT is asked after a ticket is closed",
        ),
        (
            lambda uow, tid: service.agent_reply(uow, tid, "  ", agent="sara"),
            ValidationError,
            "a body is required",
        ),
        (lambda uow, tid: service.retag(uow, tid, remove=["vip"]), NotFound, "has no tag 'vip'"),
        (lambda uow, tid: service.merge(uow, tid, tid), ValidationError, "merged into itself"),
        (
            lambda uow, tid: service.agent_reply(uow, 999, "x", agent="sara"),
            NotFound,
            "no ticket #999",
        ),
    ],
)
def test_bad_actions_are_refused_with_a_clear_error(app, action, error, message):
    tid = open_one(app)
    before = count(app, TicketMessage), len(outbox_events(app))
    with pytest.raises(error, match=message):
        with app.unit_of_work() as uow:
            action(uow, tid)
    assert (count(app, TicketMessage), len(outbox_events(app))) == before
    assert ticket(app, tid).state == "new"


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"subject": ""}, "subject"),
        ({"channel": "pigeon"}, "channel"),
        ({"priority": "asap"}, "priority"),
        ({"agent": "ghost"}, "agent"),
    ],
)
def test_opening_with_bad_fields_stores_nothing(app, fields, field):
    cid = make_customer(app, "علی")
    with pytest.raises((ValidationError, NotFound)) as err:
        open_one(app, customer=cid, **fields)
    assert err.value.field == field
    assert count(app, Ticket) == 0


def test_csat_score_range_and_only_once(app):
    tid = open_one(app)
    with app.unit_of_work() as uow:
        service.close(uow, tid)
    with pytest.raises(ValidationError, match="1–5, not 6"):
        with app.unit_of_work() as uow:
            service.record_csat(uow, tid, 6)
    with app.unit_of_work() as uow:
        service.record_csat(uow, tid, 5)
    with pytest.raises(Conflict, match="has a CSAT score already"):
        with app.unit_of_work() as uow:
            service.record_csat(uow, tid, 1)


def test_resolving_twice_and_leaving_closed_are_invalid_transitions(app):
    tid = open_one(app)
    with app.unit_of_work() as uow:
        service.resolve(uow, tid)
    with pytest.raises(Conflict, match="is resolved already"):
        with app.unit_of_work() as uow:
            service.resolve(uow, tid)
    with app.unit_of_work() as uow:
        service.close(uow, tid)
    with pytest.raises(Conflict, match="is closed already"):
        with app.unit_of_work() as uow:
            service.close(uow, tid)


def test_round_robin_and_least_loaded_assignment(app):
    ids = [open_one(app, team="support") for _ in range(4)]
    assert [ticket(app, i).assignee.username for i in ids] == ["sara", "reza", "nima", "sara"]
    from crmcore_tickets.agents import add_agent, add_team

    with app.unit_of_work() as uow:
        add_team(uow, "sales", assignment="least_loaded")
        add_agent(uow, "kian", team="sales")
        add_agent(uow, "mina", team="sales")
    with app.unit_of_work() as uow:
        service.assign(uow, ids[0], agent="kian")
        service.assign(uow, ids[1], agent="kian")
    new = open_one(app, team="sales")
    assert ticket(app, new).assignee.username == "mina"  # kian has 2 unsolved, mina 0
    with app.unit_of_work() as uow:
        service.close(uow, ids[0])
        service.close(uow, ids[1])
    assert ticket(app, open_one(app, team="sales")).assignee.username == "kian"  # 0 vs 1


def test_merge_moves_messages_and_tags_and_closes_the_duplicate(app):
    cid = make_customer(app, "سارا")
    keep = open_one(app, customer=cid, tags=["ارسال"])
    at(app, 2025, 1, 4, 11)
    dup = open_one(app, customer=cid, body="پیام تکراری", tags=["فوری"])
    with app.unit_of_work() as uow:
        service.merge(uow, keep, dup)
    k, d = ticket(app, keep), ticket(app, dup)
    assert [m.body for m in k.messages] == ["سفارش ۱۲۳ هنوز نرسیده است", "پیام تکراری"]
    assert sorted(x.tag for x in k.tags) == ["ارسال", "فوری"]
    assert (d.state, d.merged_into_id, d.messages) == ("closed", keep, [])
    with pytest.raises(Conflict, match=f"merged into #{keep}"):
        with app.unit_of_work() as uow:
            service.customer_reply(uow, dup, "x")
    other = open_one(app, customer=make_customer(app, "دیگری"))
    with pytest.raises(Conflict, match="different customers"):
        with app.unit_of_work() as uow:
            service.merge(uow, keep, other)


def test_create_ticket_hook_deduplicates(app):
    cid = make_customer(app, "کیان")
    with app.unit_of_work() as uow:
        first = uow.plugins.hook.tickets_create_ticket(
            uow=uow,
            customer_id=cid,
            subject="تماس بی‌پاسخ",
            body="تماس از ۰۹۱۲",
            channel="phone",
            priority=None,
            dedup_key="voip:call:42",
            source="voip",
        )
        again = uow.plugins.hook.tickets_create_ticket(
            uow=uow,
            customer_id=cid,
            subject="تماس بی‌پاسخ",
            body="",
            channel="phone",
            priority="high",
            dedup_key="voip:call:42",
            source="voip",
        )
        assert again is first and first.source == "voip" and first.priority == "normal"
    assert count(app, Ticket) == 1
    assert len(outbox_events(app, "tickets_ticket_opened")) == 1


def test_customer_merge_and_forget_follow_the_kernel(app):
    from crmcore.api import forget_customer, merge_customers

    a, b = (
        make_customer(app, "الف", phones=["09120000001"]),
        make_customer(app, "ب", phones=["09120000002"]),
    )
    tid = open_one(app, customer=b)
    with app.unit_of_work() as uow:
        merge_customers(uow, a, b)
    assert ticket(app, tid).customer_id == a
    with app.unit_of_work() as uow:
        forget_customer(uow, a)
    t = ticket(app, tid)
    assert t.subject == "[forgotten]" and [m.body for m in t.messages] == ["[forgotten]"]


def test_notes_are_internal_and_do_not_count_as_first_response(app):
    at(app, 2025, 1, 4, 9)
    tid = open_one(app)
    at(app, 2025, 1, 4, 9, 30)
    with app.unit_of_work() as uow:
        service.add_note(uow, tid, "مشتری قبلاً هم شکایت کرده", agent="reza")
    t = ticket(app, tid)
    assert t.first_response_at is None and t.state == "new"
    assert [(m.kind, m.author) for m in t.messages] == [("reply", "customer"), ("note", "agent")]
    assert outbox_events(app, "tickets_ticket_replied") == []


def test_tickets_join_the_customers_timeline_with_their_state(app):
    from crmcore.api import get_customer
    from crmcore.testing import customer_timeline as timeline

    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    first = open_one(app, customer=cid, subject="سفارش نرسیده")
    app.clock.advance(hours=2)
    open_one(app, customer=cid, subject="فاکتور اشتباه")
    with app.unit_of_work() as uow:
        service.resolve(uow, first)
    with app.unit_of_work(readonly=True) as uow:
        page = timeline(uow, get_customer(uow.session, cid), only="tickets")
    shown = [(e.title, e.detail.fa, e.kind.fa) for _, e in page.entries]
    assert shown == [("فاکتور اشتباه", "جدید", "تیکت"), ("سفارش نرسیده", "حل‌شده", "تیکت")]
    assert page.before is None  # nothing older
