"""The help desk pages and API routes on ``crm web``: the paged queue with filters and SLA
countdowns, the ticket page and its actions (the CLI's service functions and refusals),
permissions."""

import html
import re

from crmcore_tickets import service
from crmcore_tickets.models import Ticket, TicketMessage
from sqlalchemy import func, select
from test_web_queue import PASSWORD, cheap_password_hashing, client, login, tickets  # noqa: F401
from tickets_helpers import at, standard_setup

from crmcore.testing import make_customer

QUEUE = "/p/tickets/queue"


def page_of(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    return response.text


def ticket_ids(page):
    return [int(i) for i in re.findall(r'href="/p/tickets/tickets/(\d+)"', page)]


def test_queue_lists_unsolved_tickets_most_urgent_first_with_countdowns(crm_app, tickets, client):
    login(client, "mina")
    at(crm_app, 2025, 1, 1, 9, 20)  # 20 business minutes after opening
    page = page_of(client, QUEUE)
    assert ticket_ids(page) == [
        tickets["urgent"],
        tickets["normal"],
        tickets["open"],
        tickets["pending"],
    ]
    assert (
        "اولین پاسخ: ۱۰ دقیقه مانده" in page
    )  # urgent: 30 min target, 20 used → 10 left, within warning
    assert re.search(r'tone-warning">اولین پاسخ: ۱۰ دقیقه مانده', page)
    assert re.search(
        r'tone-success">اولین پاسخ: ۱ ساعت و ۴۰ دقیقه مانده', page
    )  # normal: 2 h target
    assert "ساعت متوقف" in page  # the pending ticket's clock is stopped
    client.cookies.set("crm_lang", "en")
    english = page_of(client, QUEUE)
    assert re.search(r'tone-warning">first response: 10 min left', english)
    assert "first response: 1 h 40 min left" in english and "clock stopped · " in english
    client.cookies.set("crm_lang", "fa")
    # past the urgent target: overdue, highlighted; the breached filter keeps it alone
    at(crm_app, 2025, 1, 1, 10, 5)
    page = page_of(client, QUEUE)
    assert re.search(r'tone-danger">اولین پاسخ: ۳۵ دقیقه گذشته از موعد', page)
    assert ticket_ids(page_of(client, QUEUE + "?breached=1")) == [tickets["urgent"]]
    assert ticket_ids(page_of(client, QUEUE + "?state=all&agent=reza")) == [
        tickets["urgent"],
        tickets["resolved"],
        tickets["closed"],
    ]
    assert ticket_ids(page_of(client, QUEUE + "?state=closed")) == [tickets["closed"]]
    assert ticket_ids(page_of(client, QUEUE + "?priority=urgent")) == [tickets["urgent"]]
    bad = client.get(QUEUE + "?state=lost")
    assert bad.status_code == 422 and "&#39;lost&#39; is not a state" in bad.text


def test_queue_pages_through_hundreds_of_tickets(crm_app, client):
    from crmcore.testing import add_user

    standard_setup(crm_app)
    at(crm_app, 2025, 1, 1, 9, 0)
    cid = make_customer(crm_app, "مریم")
    with crm_app.unit_of_work() as uow:
        add_user(uow, "mina", PASSWORD, "manager")
        for i in range(120):
            service.open_ticket(uow, cid, subject=f"t{i}")
    login(client, "mina")
    seen = []
    url = QUEUE
    for _ in range(3):
        page = page_of(client, url)
        seen += ticket_ids(page)
        nxt = re.search(r'rel="next" href="([^"]+)"', page)
        if not nxt:
            break
        url = html.unescape(nxt.group(1))
    assert "صفحه ۳ از ۳" in page
    assert seen == list(range(1, 121))
    api = client.get("/api/p/tickets/tickets?limit=100")
    assert api.status_code == 200 and len(api.json()) == 100 and "next" in api.headers["link"]


def test_agent_replies_notes_and_closes_from_the_ticket_page(crm_app, tickets, client):
    csrf = login(client, "sara")
    tid = tickets["normal"]
    page = page_of(client, f"/p/tickets/tickets/{tid}")
    assert "سفارش نرسیده" in page and "ارسال پاسخ" in page
    done = client.post(
        f"/p/tickets/tickets/{tid}/reply", data={"csrf_token": csrf, "body": "فردا می‌رسد"}
    )
    assert done.status_code == 200 and "انجام شد" in done.text
    client.post(
        f"/p/tickets/tickets/{tid}/note", data={"csrf_token": csrf, "body": "داخلی: پیگیری انبار"}
    )
    closed = client.post(
        f"/p/tickets/tickets/{tid}/close",
        data={"csrf_token": csrf, "score": "5", "comment": "عالی"},
    )
    assert closed.status_code == 200
    with crm_app.unit_of_work(readonly=True) as uow:
        t = uow.session.get(Ticket, tid)
        assert (t.state, t.csat_score, t.csat_comment) == ("closed", 5, "عالی")
        assert [(m.kind, m.author, m.body) for m in t.messages][-2:] == [
            ("reply", "agent", "فردا می‌رسد"),
            ("note", "agent", "داخلی: پیگیری انبار"),
        ]
    page = closed.text
    assert 'data-kind="note"' in page and "یادداشت داخلی" in page
    assert "ارسال پاسخ" not in page  # closed: no reply form


def test_a_refused_action_shows_the_cli_reason_beside_its_form_and_stores_nothing(
    crm_app, tickets, client
):
    csrf = login(client, "sara")
    tid = tickets["normal"]

    def counts():
        with crm_app.unit_of_work(readonly=True) as uow:
            t = uow.session.get(Ticket, tid)
            return (
                t.state,
                t.csat_score,
                uow.session.scalar(select(func.count()).select_from(TicketMessage)),
            )

    before = counts()
    refused = client.post(
        f"/p/tickets/tickets/{tid}/close", data={"csrf_token": csrf, "score": "9"}
    )
    assert refused.status_code == 422
    section = re.search(
        r'<section class="card" id="action-close">(.*?)</section>', refused.text, re.S
    ).group(1)
    assert "a CSAT score is 1–5, not 9" in section and 'data-field="score"' in section
    merged = client.post(
        f"/p/tickets/tickets/{tid}/merge",
        data={"csrf_token": csrf, "duplicate": str(tickets["pending"])},
    )
    assert merged.status_code == 422
    assert (
        f"tickets #{tid} and #{tickets['pending']} belong to different customers"
        in html.unescape(merged.text)
    )
    empty = client.post(f"/p/tickets/tickets/{tid}/reply", data={"csrf_token": csrf, "body": "  "})
    assert empty.status_code == 422 and "a body is required" in empty.text
    assert counts() == before
    # the same refusal through the API: 422 with the field
    api = client.post(
        f"/api/p/tickets/tickets/{tid}/csat", json={"score": 3}, headers={"X-CSRF-Token": csrf}
    )
    assert api.status_code == 409
    assert api.json() == {
        "error": f"ticket #{tid} is new; CSAT is asked after a ticket is closed",
        "field": "ticket",
    }
    ok = client.post(
        f"/api/p/tickets/tickets/{tid}/reply",
        json={"body": "ok", "pending": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 200 and ok.json()["state"] == "pending_customer"


def test_permissions_hide_the_menu_and_refuse_the_routes(crm_app, tickets, client):
    from crmcore.testing import set_permission

    with crm_app.unit_of_work() as uow:
        set_permission(uow, "sara", "tickets", "none")
    csrf = login(client, "sara")
    home = client.get("/").text
    assert 'href="/p/tickets/queue"' not in home
    assert client.get(QUEUE).status_code == 403
    assert client.get(f"/p/tickets/tickets/{tickets['open']}").status_code == 403
    assert client.get("/api/p/tickets/tickets").status_code == 403
    assert (
        client.post(
            f"/p/tickets/tickets/{tickets['open']}/resolve", data={"csrf_token": csrf}
        ).status_code
        == 403
    )
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "omid")  # read-only: sees the queue, no forms, cannot act
    assert 'href="/p/tickets/queue"' in client.get("/").text
    page = page_of(client, f"/p/tickets/tickets/{tickets['open']}")
    assert "ارسال پاسخ" not in page
    assert (
        client.post(
            f"/p/tickets/tickets/{tickets['open']}/resolve", data={"csrf_token": csrf}
        ).status_code
        == 403
    )


def test_api_routes_are_in_openapi(crm_app, tickets, client):
    login(client, "mina")
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    assert "/api/p/tickets/tickets" in paths and "/api/p/tickets/tickets/{ticket_id}/reply" in paths
    assert not any(p.startswith("/p/tickets") for p in paths)
    one = client.get(f"/api/p/tickets/tickets/{tickets['urgent']}").json()
    assert (
        one["countdown"]["target"] == "first_response"
        and one["messages"][0]["author"] == "customer"
    )


def test_a_ticket_opened_from_the_customer_page(crm_app, tickets, client):
    """The 360° page's quick action opens a ticket through the CLI's ``open_ticket``; a refusal
    shows the reason beside its field and stores nothing; a read-only user gets no form and 403."""
    with crm_app.unit_of_work(readonly=True) as uow:
        cid = uow.session.get(Ticket, tickets["normal"]).customer_id

    def count():
        with crm_app.unit_of_work(readonly=True) as uow:
            return uow.session.scalar(select(func.count()).select_from(Ticket))

    csrf = login(client, "sara")
    url = f"/p/tickets/customers/{cid}/tickets"
    assert f'action="{url}"' in page_of(client, f"/customers/{cid}")
    before = count()
    refused = client.post(url, data={"csrf_token": csrf, "subject": "ضمانت", "channel": "fax"})
    assert refused.status_code == 422 and 'data-field="channel"' in refused.text
    assert "ضمانت" in refused.text and count() == before
    ok = client.post(
        url,
        data={
            "csrf_token": csrf,
            "subject": "درخواست گارانتی",
            "body": "کتری خراب شده",
            "channel": "phone",
            "priority": "high",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and count() == before + 1
    tid = int(re.search(r"/p/tickets/tickets/(\d+)", ok.headers["location"]).group(1))
    with crm_app.unit_of_work(readonly=True) as uow:
        t = uow.session.get(Ticket, tid)
        assert (t.customer_id, t.subject, t.priority) == (cid, "درخواست گارانتی", "high")
    assert "درخواست گارانتی" in page_of(client, f"/customers/{cid}?only=tickets")
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "omid")
    assert url not in page_of(client, f"/customers/{cid}")
    assert client.post(url, data={"csrf_token": csrf, "subject": "x"}).status_code == 403
