"""The ticket queue on ``crm web`` (``/boards/tickets/queue``), through the in-process web client, logged in as
a real user with the session's CSRF token, like the kernel's tests/web."""

import html
import re
import warnings

import pytest
from crmcore_tickets import service
from crmcore_tickets.models import Ticket
from sqlalchemy import select
from tickets_helpers import at, standard_setup

from crmcore.testing import AuditEntry, make_customer
from crmcore.testing.web import board_columns, web_client
from crmcore.testing.web import login as shared_login

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

PASSWORD = "a long enough password"
JSON = {"Accept": "application/json"}
QUEUE = "/boards/tickets/queue"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def tickets(crm_app):
    """One ticket per state (two new ones of different priority), a closed and a merged one; ids by name."""
    from crmcore.testing import add_user

    standard_setup(crm_app)
    at(crm_app, 2025, 1, 1, 9, 0)  # Wednesday 1403/10/12
    maryam = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    ali = make_customer(crm_app, "علی کاظمی", phones=["09351234567"])
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "mina", PASSWORD, "manager")  # a supervisor: changes every agent's tickets
        add_user(uow, "sara", PASSWORD, "agent")
        add_user(uow, "omid", PASSWORD, "read-only")

        def one(customer, subject, **kw):
            return service.open_ticket(uow, customer, subject=subject, body="…", **kw).id

        ids = {
            "normal": one(maryam, "سفارش نرسیده", agent="sara"),
            "urgent": one(ali, "پرداخت دو بار کسر شد", priority="urgent", agent="reza"),
            "open": one(maryam, "Wrong size", agent="sara"),
            "pending": one(ali, "فاکتور رسمی", agent="sara"),
            "resolved": one(maryam, "تغییر آدرس", agent="reza"),
            "closed": one(ali, "سؤال قیمت", agent="reza"),
            "duplicate": one(maryam, "سفارش نرسیده (دوباره)", agent="sara"),
        }
        service.agent_reply(uow, ids["open"], "در حال بررسی", agent="sara")
        service.agent_reply(
            uow, ids["pending"], "کد اقتصادی را بفرستید", agent="sara", pending=True
        )
        service.resolve(uow, ids["resolved"])
        service.close(uow, ids["closed"])
        service.merge(uow, ids["normal"], ids["duplicate"])
    return ids


@pytest.fixture
def client(crm_app):
    with web_client(crm_app) as c:
        yield c


def login(client, username):
    return shared_login(client, username, PASSWORD)


def columns(page):
    """{state: [ticket ids as shown, top to bottom]} from the queue page."""
    return board_columns(page)


def states(app, ids):
    with app.unit_of_work(readonly=True) as uow:
        return {name: uow.session.get(Ticket, tid).state for name, tid in ids.items()}


def test_the_queue_shows_unsolved_and_resolved_tickets_most_urgent_first(crm_app, client, tickets):
    login(client, "omid")
    page = client.get(QUEUE)
    assert (
        page.status_code == 200
        and "<h1>تابلوی تیکت‌ها</h1>" in page.text
        and f'href="{QUEUE}"' in page.text
    )
    assert columns(page.text) == {
        "new": [tickets["urgent"], tickets["normal"]],
        "open": [tickets["open"]],
        "pending_customer": [tickets["pending"]],
        "resolved": [tickets["resolved"]],
    }
    assert (
        "در انتظار مشتری" in page.text and f"#{tickets['urgent']} پرداخت دو بار کسر شد" in page.text
    )
    assert '<a href="/customers/' in page.text and "علی کاظمی" in page.text
    urgent = re.search(rf'data-card="{tickets["urgent"]}"(.*?)</article>', page.text, re.S).group(1)
    # first response due 30 minutes after opening, Tehran time
    assert '<span class="badge">۱۴۰۳/۱۰/۱۲ ۰۹:۳۰</span>' in urgent
    assert 'class="move"' not in page.text  # read-only: no move buttons
    client.cookies.set("crm_lang", "en")
    english = client.get(QUEUE).text
    assert (
        "<h1>Ticket board</h1>" in english
        and "Waiting on the customer" in english
        and "2025-01-01" in english
    )


def test_moving_a_card_changes_the_state_through_the_state_machine(crm_app, client, tickets):
    csrf = login(client, "mina")
    at(crm_app, 2025, 1, 1, 10, 0)
    moved = client.post(
        f"{QUEUE}/move", data={"card": str(tickets["normal"]), "column": "open", "csrf_token": csrf}
    )
    assert moved.status_code == 200 and "منتقل شد" in moved.text
    # unanswered, its first response (due 11:00) comes before the answered ticket's resolution
    assert columns(moved.text)["open"] == [tickets["normal"], tickets["open"]]
    for column in ("pending_customer", "resolved", "open"):  # pausing, resolving and reopening
        answer = client.post(
            f"{QUEUE}/move",
            headers=JSON,
            data={"card": str(tickets["normal"]), "column": column, "csrf_token": csrf},
        )
        assert answer.json() == {"ok": True, "card": str(tickets["normal"]), "column": column}
    with crm_app.unit_of_work(readonly=True) as uow:
        t = uow.session.get(Ticket, tickets["normal"])
        assert (t.state, t.reopen_count, t.resolved_at, t.sla_paused_at) == ("open", 1, None, None)
        changes = uow.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity == "ticket",
                AuditEntry.action == "state",
                AuditEntry.entity_id == str(tickets["normal"]),
            )
            .order_by(AuditEntry.id)
        ).all()
        assert [(a.actor, a.changes["state"]) for a in changes] == [
            ("mina", ["new", "open"]),
            ("mina", ["open", "pending_customer"]),
            ("mina", ["pending_customer", "resolved"]),
            ("mina", ["resolved", "open"]),
        ]


@pytest.mark.parametrize(
    "card, column, error, field",
    [
        ("open", "new", "ticket #{open} is open; it cannot become new", "state"),
        (
            "resolved",
            "pending_customer",
            "ticket #{resolved} is resolved; it cannot become pending_customer",
            "state",
        ),
        (
            "closed",
            "open",
            "ticket #{closed} is closed; it cannot become open (closed tickets are final: open a "
            "follow-up ticket)",
            "state",
        ),
        ("resolved", "resolved", "ticket #{resolved} is resolved already", "ticket"),
        ("urgent", "new", "ticket #{urgent} is new already", "state"),
        (
            "duplicate",
            "open",
            "ticket #{duplicate} was merged into #{normal}; change it there",
            "ticket",
        ),
        (
            "urgent",
            "closed",
            "'closed' is not a column of the queue (new, open, pending_customer, resolved); "
            "close a ticket with: crm tickets close {urgent}",
            "column",
        ),
        ("9999", "open", "no ticket #9999", "ticket"),
    ],
)
def test_refused_moves_say_why_and_change_nothing(
    crm_app, client, tickets, card, column, error, field
):
    csrf = login(client, "mina")
    before = states(crm_app, tickets)
    card_id = str(tickets.get(card, card))
    refused = client.post(
        f"{QUEUE}/move", headers=JSON, data={"card": card_id, "column": column, "csrf_token": csrf}
    )
    assert refused.status_code == 422
    assert refused.json() == {"error": error.format(**tickets), "field": field}
    page = client.post(
        f"{QUEUE}/move", data={"card": card_id, "column": column, "csrf_token": csrf}
    )
    assert page.status_code == 422 and error.format(**tickets) in html.unescape(page.text)
    assert states(crm_app, tickets) == before


def test_moves_need_write_access_and_the_csrf_token(crm_app, client, tickets):
    csrf = login(client, "omid")
    data = {"card": str(tickets["normal"]), "column": "open"}
    assert client.post(f"{QUEUE}/move", data={**data, "csrf_token": csrf}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "mina")
    assert client.post(f"{QUEUE}/move", headers=JSON, data=data).status_code == 403
    assert states(crm_app, tickets)["normal"] == "new"


def test_the_queue_of_one_agent(crm_app, client, tickets):
    login(client, "omid")
    reza = columns(client.get(QUEUE, params={"agent": "reza"}).text)
    assert reza == {
        "new": [tickets["urgent"]],
        "open": [],
        "pending_customer": [],
        "resolved": [tickets["resolved"]],
    }
    unknown = client.get(QUEUE, params={"agent": "nobody"})
    assert unknown.status_code == 404 and "no agent named 'nobody'" in html.unescape(unknown.text)


def test_an_agent_changes_only_their_own_or_their_teams_tickets(crm_app, client, tickets):
    """Issue 29: any agent edited every ticket. Tickets follow their assignee (record rules)."""
    csrf = login(client, "sara")
    refused = client.post(
        f"{QUEUE}/move",
        headers=JSON,
        data={"card": str(tickets["urgent"]), "column": "open", "csrf_token": csrf},
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "error": f"ticket #{tickets['urgent']} is assigned to reza: "
        "you may write only your own or your team's",
        "field": "assignee",
    }
    assert states(crm_app, tickets)["urgent"] == "new"
    mine = client.post(
        f"{QUEUE}/move",
        headers=JSON,
        data={"card": str(tickets["normal"]), "column": "open", "csrf_token": csrf},
    )
    assert mine.status_code == 200
    from crmcore.api import Forbidden
    from crmcore.testing import viewer_for

    with pytest.raises(Forbidden):  # the service refuses, whatever the route
        with crm_app.unit_of_work() as uow:
            uow.viewer = viewer_for(uow.session, "sara")
            service.add_note(uow, tickets["urgent"], "یادداشت", agent="sara")


def test_an_own_read_scope_shows_only_the_agents_tickets(crm_app, client, tickets):
    from crmcore.testing import set_role_scope

    with crm_app.unit_of_work(actor="setup") as uow:
        set_role_scope(uow, "agent", read="own")
        unassigned = service.open_ticket(
            uow,
            service.get_ticket(uow.session, tickets["open"]).customer_id,
            subject="بی‌مسئول",
            body="…",
        ).id
    login(client, "sara")
    with crm_app.unit_of_work(readonly=True) as uow:
        ali = service.get_ticket(uow.session, tickets["urgent"]).customer_id
    section = client.get(f"/api/customers/{ali}").json()["sections"]["tickets"]
    assert [t["id"] for t in section["open"]] == [tickets["pending"]]  # not reza's urgent one
    assert (section["open_count"], section["total"]) == (1, 3)
    assert columns(client.get(QUEUE).text) == {
        "new": [tickets["normal"], unassigned],
        "open": [tickets["open"]],
        "pending_customer": [tickets["pending"]],
        "resolved": [],
    }
