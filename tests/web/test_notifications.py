"""Staff notifications (``crmcore.api.notify_user``): a user's list with the header's unread bell,
marking read (page, API, CLI), the user's own channels (email and SMS through
``crm_staff_message``, the pop on their open pages), de-duplication, the managers of a plugin, and
refusals of bad input."""

from __future__ import annotations

import json

import pytest

from crmcore.api import ValidationError, hookimpl, notify_managers, notify_user
from crmcore.web.events import pops_after

from .conftest import PASSWORD, bearer, login


class Courier:
    """A plugin sending staff messages (as messaging does): records what it was handed."""

    def __init__(self):
        self.sent = []

    @hookimpl
    def crm_staff_message(self, uow, channel, address, subject, body, key):
        self.sent.append((channel, address, subject, body, key))
        return "queued"


@pytest.fixture
def courier():
    return Courier()


@pytest.fixture
def app(crm_app, crm_app_factory, courier):
    return crm_app_factory(extra_plugins=[("courier", courier, None)], clock=crm_app.clock)


def _set(app, username, **fields):
    from crmcore.web.users import update_user

    with app.unit_of_work(actor="setup") as uow:
        update_user(uow, username, **fields)


def test_a_notification_reaches_the_users_own_channels_once(app, users, courier):
    _set(app, "agent", email="Agent@Shop.ir", phone="0912 111 0000")
    with app.unit_of_work() as uow:
        first = notify_user(
            uow,
            "agent",
            "یادآوری: تماس با مریم",
            "داخلی: بدحساب",
            link="/customers/1",
            kind="reminder",
            key="task:1:r15",
        )
        again = notify_user(uow, "AGENT", "یادآوری: تماس با مریم", key="task:1:r15")
        assert again.id == first.id
        deliveries = dict(first.deliveries)
    assert deliveries == {"web": "listed", "email": "queued", "sms": "queued", "pop": "published"}
    assert [(c, a) for c, a, *_ in courier.sent] == [
        ("email", "agent@shop.ir"),
        ("sms", "+989121110000"),
    ]
    assert courier.sent[0][2:4] == ("یادآوری: تماس با مریم", "داخلی: بدحساب")


def test_channels_the_user_chose_or_has_no_address_for(app, users, courier):
    _set(app, "agent", email="agent@shop.ir", notify="web")
    _set(app, "manager", notify="email,sms")
    with app.unit_of_work() as uow:
        quiet = dict(notify_user(uow, "agent", "x").deliveries)
        partial = dict(notify_user(uow, "manager", "y").deliveries)
        assert notify_user(uow, "nobody", "z") is None
    assert quiet == {"web": "listed"}
    assert partial == {"web": "listed", "email": "no email address", "sms": "no mobile"}
    assert courier.sent == []


def test_without_a_messaging_plugin_email_and_sms_say_so(crm_app, users):
    _set(crm_app, "agent", email="agent@shop.ir")
    with crm_app.unit_of_work() as uow:
        deliveries = dict(notify_user(uow, "agent", "x").deliveries)
    assert deliveries["email"] == "no provider" and deliveries["sms"] == "no mobile"


def test_bad_input_is_refused(crm_app, users, crm_cli):
    with pytest.raises(ValidationError) as exc:
        with crm_app.unit_of_work() as uow:
            notify_user(uow, "agent", "x", link="https://evil.example/")
    assert exc.value.field == "link"
    result = crm_cli("users", "set", "agent", "--notify", "fax")
    assert result.exit_code == 1 and "'fax' is not a notification channel" in result.stderr
    result = crm_cli("users", "set", "agent", "--phone", "12")
    assert result.exit_code == 1 and "phone" in result.stderr
    assert crm_cli("users", "list", "--json").json()[1]["phone"] is None


def test_managers_of_a_plugin(crm_app, users):
    from crmcore.web.users import set_permission

    with crm_app.unit_of_work(actor="setup") as uow:
        set_permission(uow, "agent", "transfers", "manage")
        set_permission(uow, "manager", "transfers", "read")
    with crm_app.unit_of_work() as uow:
        sent = notify_managers(uow, "transfers", "گیرنده در انتظار تأیید", kind="transfer_pending")
        names = sorted(n.user_id for n in sent)
    from crmcore.web.users import list_users

    with crm_app.unit_of_work(readonly=True) as uow:
        ids = {u.username: u.id for u in list_users(uow.session)}
    assert names == sorted([ids["admin"], ids["agent"]])


def test_the_list_the_bell_and_marking_read(crm_app, users, client, crm_cli):
    with crm_app.unit_of_work() as uow:
        mine = [
            notify_user(uow, "agent", f"کار {i}", link=f"/customers/{i}", kind="reminder").id
            for i in (1, 2)
        ]
        other = notify_user(uow, "manager", "تیکت #۳ به شما سپرده شد", kind="ticket_assigned").id
    csrf = login(client, "agent")
    home = client.get("/")
    assert 'class="bell-count" data-unread="2"' in home.text
    page = client.get("/notifications")
    assert "کار 1" in page.text and "کار 2" in page.text and "تیکت" not in page.text
    # opening one marks it read and goes to its page
    r = client.post(
        "/notifications/read",
        data={"csrf_token": csrf, "id": str(mine[0]), "next": "/customers/1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/customers/1"
    assert 'data-unread="1"' in client.get("/").text
    # someone else's notification cannot be marked
    r = client.post("/notifications/read", data={"csrf_token": csrf, "id": str(other)})
    assert r.status_code == 404
    r = client.post("/notifications/read", data={"csrf_token": csrf})
    assert r.status_code == 200 and "bell-count" not in r.text
    listed = crm_cli("users", "notifications", "agent", "--json").json()
    assert [n["title"] for n in listed] == ["کار 2", "کار 1"] and all(n["read_at"] for n in listed)
    unread = crm_cli("users", "notifications", "manager", "--unread", "--json").json()
    assert [n["id"] for n in unread] == [other]


def test_the_api(crm_app, users, client):
    with crm_app.unit_of_work() as uow:
        nid = notify_user(uow, "agent", "SLA", kind="sla_warning").id
        notify_user(uow, "manager", "not yours")
    auth = bearer(users["agent"])
    unread = client.get("/api/notifications?unread=true", headers=auth).json()
    assert [n["id"] for n in unread] == [nid]
    r = client.post("/api/notifications/read", headers=auth, json={"ids": [nid + 1]})
    assert r.status_code == 404
    r = client.post("/api/notifications/read", headers=auth, json={"ids": [nid]})
    assert r.json() == {"marked": 1}
    assert client.get("/api/notifications?unread=true", headers=auth).json() == []
    assert client.post("/api/notifications/read", headers=auth, json={"id": 1}).status_code == 422
    assert "/api/notifications" in client.get("/api/openapi.json", headers=auth).json()["paths"]


def test_the_pop_goes_to_its_user_alone(crm_app, users, client):
    from crmcore.web.auth import Principal

    _set(crm_app, "manager", notify="web")
    with crm_app.unit_of_work() as uow:
        notify_user(uow, "agent", "یادآوری: تماس", link="/customers/4", kind="reminder")
        notify_user(uow, "manager", "بی‌صدا")

    def who(name):
        return Principal(
            user_id=0, username=name, display_name=None, role="agent", permissions={}, via="session"
        )

    with crm_app.unit_of_work(readonly=True) as uow:
        agent, _ = pops_after(uow, who("agent"), 0)
        manager, _ = pops_after(uow, who("manager"), 0)
    assert [(p["type"], p["title"], p["link"]) for p in agent] == [
        ("notice", "یادآوری: تماس", "/customers/4")
    ]
    assert manager == []  # chose the list only
    json.dumps(agent)  # what the stream sends


def test_users_get_their_own_contact_fields(crm_cli, crm_app):
    r = crm_cli(
        "users",
        "add",
        "sara",
        "--role",
        "agent",
        "--email",
        "sara@shop.ir",
        "--phone",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "--notify",
        "sms",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r
    [user] = crm_cli("users", "list", "--json").json()
    assert (user["email"], user["phone"], user["notify"]) == (
        "sara@shop.ir",
        "+989121234567",
        ["sms"],
    )
    r = crm_cli(
        "users",
        "add",
        "reza",
        "--role",
        "agent",
        "--email",
        "not-an-email",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 1 and "email" in r.stderr
    assert len(crm_cli("users", "list", "--json").json()) == 1


def test_users_set_their_own_address_mobile_and_channels_on_the_account_page(
    crm_app, users, client
):
    csrf = login(client, "agent")
    r = client.post(
        "/account/contact",
        data={
            "csrf_token": csrf,
            "email": "agent@shop.ir",
            "phone": "0912 111 0000",
            "notify_sms": "on",
        },
    )
    assert r.status_code == 200
    from crmcore.web.users import get_user

    with crm_app.unit_of_work(readonly=True) as uow:
        me = get_user(uow.session, "agent")
        assert (me.email, me.phone, me.notify_channels) == (
            "agent@shop.ir",
            "+989121110000",
            ["sms"],
        )
    r = client.post(
        "/account/contact", data={"csrf_token": csrf, "email": "agent@shop.ir", "phone": "12345"}
    )
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text and 'value="12345"' in r.text
    with crm_app.unit_of_work(readonly=True) as uow:
        assert get_user(uow.session, "agent").notify_channels == ["sms"]  # nothing stored
