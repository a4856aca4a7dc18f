"""The chat channel against a fake Telegram-shaped Bot API on 127.0.0.1
(``POST /bot<token>/<method>`` with JSON, answers ``{"ok": …, "result"|"error_code"/"description"}``, ``getUpdates`` honouring
``offset``): customers link their chat by sharing their own contact, their messages become
interactions and chat tickets, agents' replies reach ``sendMessage``; the webhook checks the
secret-token header; polling twice records nothing twice."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from crmcore.api import Interaction
from crmcore.testing import make_customer
from crmcore.testing.web import web_client

TOKEN = "123456:TEST-token-never-printed"
SECRET = "webhook-secret_42"


@pytest.fixture
def crm_plugins():
    return ["messaging", "tickets"]


class FakeBotAPI:
    """Telegram's Bot API shapes: Update/Message/Contact in, sendMessage/getUpdates/setWebhook."""

    def __init__(self):
        self.pending: list[dict] = []  # updates not yet confirmed by an offset
        self.sent: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.webhook: dict | None = None
        self.next_message_id = 500

    def handle(self, token: str, method: str, body: dict) -> tuple[int, dict]:
        self.calls.append((method, body))
        if token != TOKEN:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "getUpdates":
            if self.webhook:
                return 409, {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: can't use getUpdates method while "
                    "webhook is active; use deleteWebhook to delete the "
                    "webhook first",
                }
            offset = body.get("offset")
            if offset is not None:  # confirms every update below the offset
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            return 200, {"ok": True, "result": list(self.pending)}
        if method == "sendMessage":
            if not body.get("chat_id") or not body.get("text"):
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                }
            self.next_message_id += 1
            self.sent.append(body)
            return 200, {
                "ok": True,
                "result": {
                    "message_id": self.next_message_id,
                    "date": 1765000000,
                    "text": body["text"],
                    "chat": {"id": int(body["chat_id"]), "type": "private"},
                    "from": {"id": 999, "is_bot": True, "first_name": "Shop"},
                },
            }
        if method == "setWebhook":
            self.webhook = body
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if method == "deleteWebhook":
            self.webhook = None
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


@pytest.fixture
def bot_api():
    fake = FakeBotAPI()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            _, bot, method = self.path.split("/", 2)
            status, data = fake.handle(
                bot.removeprefix("bot"), method, json.loads(raw) if raw else {}
            )
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(crm_app, crm_cli, bot_api, monkeypatch):
    monkeypatch.setenv("TEST_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_BOT_SECRET", SECRET)
    for key, value in (
        ("chat_bot_token", "env:TEST_BOT_TOKEN"),
        ("chat_api_url", bot_api.url),
        ("chat_webhook_secret", "env:TEST_BOT_SECRET"),
    ):
        assert crm_cli("messages", "settings", "set", key, value).exit_code == 0
    assert crm_cli("tickets", "agent", "add", "sara", "--name", "سارا").exit_code == 0
    maryam = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    other = make_customer(crm_app, "علی نوری", phones=["09351112233"])
    return {"maryam": maryam, "other": other}


def message(
    update_id: int, *, user: int = 7001, text: str | None = None, contact: dict | None = None
) -> dict:
    msg = {
        "message_id": update_id * 10,
        "date": 1765000000 + update_id,
        "from": {"id": user, "is_bot": False, "first_name": "Maryam", "language_code": "fa"},
        "chat": {"id": user, "type": "private", "first_name": "Maryam"},
    }
    if text is not None:
        msg["text"] = text
    if contact is not None:
        msg["contact"] = contact
    return {"update_id": update_id, "message": msg}


def own_contact(user: int = 7001, phone: str = "989121234567") -> dict:
    return {"phone_number": phone, "first_name": "Maryam", "user_id": user}


def interactions(app, customer_id: int) -> list[Interaction]:
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer_id, Interaction.channel == "chat")
            .order_by(Interaction.id)
        ).all()
        return [(r.kind, r.direction, r.payload["text"]) for r in rows]


def tickets(cli, customer_id: int) -> list[dict]:
    out = cli("tickets", "list", "--customer", str(customer_id), "--json")
    assert out.exit_code == 0, out.stderr
    return out.json()


def test_a_chat_message_becomes_a_ticket_and_the_agents_reply_reaches_the_bot(
    crm_app, crm_cli, bot_api, shop
):
    bot_api.pending += [message(1, text="سلام، سفارشم نرسیده"), message(2, contact=own_contact())]
    polled = crm_cli("messages", "chat", "poll", "--once")
    assert polled.exit_code == 0, polled.stderr
    assert polled.stdout.strip() == "2 update(s): 1 asked contact, 1 linked"
    # the bot asked for the contact with a request_contact keyboard, then thanked
    asked, thanked = bot_api.sent
    assert asked["chat_id"] == "7001"
    assert asked["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert thanked["reply_markup"] == {"remove_keyboard": True}
    # the message written before linking is recorded on Maryam, and opened a chat ticket
    maryam = shop["maryam"]
    assert interactions(crm_app, maryam) == [("message", "in", "سلام، سفارشم نرسیده")]
    [ticket] = tickets(crm_cli, maryam)
    assert ticket["channel"] == "chat"

    # a second message goes to the same open ticket as the customer's reply
    bot_api.pending.append(message(3, text="کد سفارش ۱۲۳"))
    assert crm_cli("messages", "chat", "poll", "--once").exit_code == 0
    assert [t["id"] for t in tickets(crm_cli, maryam)] == [ticket["id"]]
    shown = crm_cli("tickets", "show", str(ticket["id"]), "--json").json()
    assert [m["body"] for m in shown["messages"] if m["author"] == "customer"] == [
        "سلام، سفارشم نرسیده",
        "کد سفارش ۱۲۳",
    ]

    # the agent's reply from the ticket goes out by sendMessage to Maryam's chat
    replied = crm_cli(
        "tickets", "reply", str(ticket["id"]), "--agent", "sara", "--body", "ارسال شد؛ فردا می‌رسد"
    )
    assert replied.exit_code == 0, replied.stderr
    assert replied.stdout.splitlines()[-1] == "  reply sent by chat to customer:1"
    assert bot_api.sent[-1] == {"chat_id": "7001", "text": "ارسال شد؛ فردا می‌رسد"}
    delivery = crm_cli("tickets", "show", str(ticket["id"]), "--json").json()["messages"][-1]
    assert delivery["delivery"]["status"] == "sent"
    assert TOKEN not in replied.stdout + replied.stderr


def test_sharing_the_contact_links_the_chat_to_the_right_customer_and_only_ones_own(
    crm_app, crm_cli, bot_api, shop
):
    # someone else's contact (user_id is not the sender's) is refused
    bot_api.pending += [
        message(10, user=8002, contact=own_contact(user=7001)),
        message(
            11,
            user=8002,
            contact={"phone_number": "+98 935 111 2233", "first_name": "Ali", "user_id": 8002},
        ),
    ]
    assert crm_cli("messages", "chat", "poll", "--once").exit_code == 0
    assert "شمارهٔ خودتان" in bot_api.sent[0]["text"]
    status = crm_cli("messages", "chat", "status", "--json").json()
    assert (status["chats"], status["linked"]) == (1, 1)
    assert status["token"] == "env:TEST_BOT_TOKEN"  # the variable's name, never the token
    # linked to Ali (his own number, written with spaces and +98), not to Maryam
    sent = crm_cli("messages", "chat", "send", str(shop["other"]), "سلام علی")
    assert sent.exit_code == 0, sent.stderr
    assert bot_api.sent[-1] == {"chat_id": "8002", "text": "سلام علی"}
    assert interactions(crm_app, shop["other"]) == [("message", "out", "سلام علی")]
    refused = crm_cli("messages", "chat", "send", str(shop["maryam"]), "سلام")
    assert refused.exit_code == 1
    assert "has not linked a chat" in refused.stderr


def test_polling_twice_records_nothing_twice(crm_app, crm_cli, bot_api, shop):
    bot_api.pending += [message(20, contact=own_contact()), message(21, text="سلام")]
    assert crm_cli("messages", "chat", "poll", "--once").exit_code == 0
    # the next call confirms them with offset 22; nothing new comes back
    again = crm_cli("messages", "chat", "poll", "--once", "--json")
    assert again.json() == {"updates": 0, "outcomes": {}}
    assert bot_api.calls[-1] == (
        "getUpdates",
        {"timeout": 0, "allowed_updates": ["message"], "offset": 22},
    )
    # even an API that sends an update again (no offset kept) does not duplicate it
    bot_api.pending.append(message(21, text="سلام"))
    with crm_app.unit_of_work() as uow:
        from crmcore_messaging.chat import handle_update

        assert handle_update(uow, message(21, text="سلام"))["outcome"] == "duplicate"
    assert interactions(crm_app, shop["maryam"]) == [("message", "in", "سلام")]
    assert len(tickets(crm_cli, shop["maryam"])) == 1


def test_the_webhook_needs_the_secret_token_and_applies_updates_once(
    crm_app, crm_cli, bot_api, shop
):
    set_ = crm_cli("messages", "chat", "webhook", "https://crm.shop.example/hooks/messaging/chat")
    assert set_.exit_code == 0, set_.stderr
    assert bot_api.webhook == {
        "url": "https://crm.shop.example/hooks/messaging/chat",
        "secret_token": SECRET,
        "allowed_updates": ["message"],
    }
    job = crm_cli("jobs", "run", "--only", "messaging.chat_poll", "--json")
    assert job.exit_code == 0, job.stderr
    assert "delivers by webhook" in job.stdout
    url = "/hooks/messaging/chat/"
    with web_client(crm_app) as client:
        update = message(30, contact=own_contact())
        wrong = client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        assert wrong.status_code == 403
        assert client.post(url, json=update).status_code == 403
        assert bot_api.sent == []
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        linked = client.post(url, json=update, headers=headers)
        assert linked.status_code == 200 and linked.json()["outcome"] == "linked"
        text = message(31, text="قیمت این کالا؟")
        assert client.post(url, json=text, headers=headers).json()["outcome"] == "recorded"
        assert client.post(url, json=text, headers=headers).json()["outcome"] == "duplicate"
    assert interactions(crm_app, shop["maryam"]) == [("message", "in", "قیمت این کالا؟")]


def test_an_agent_writes_to_the_linked_chat_from_the_customer_page(crm_app, bot_api, shop):
    from crmcore_messaging.chat import handle_update

    from crmcore.testing import add_user
    from crmcore.testing.web import login

    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "agent", "a-long-pass-phrase-1", "agent")
        add_user(uow, "viewer", "a-long-pass-phrase-1", "read-only")
    with crm_app.unit_of_work() as uow:
        assert handle_update(uow, message(40, contact=own_contact()))["outcome"] == "linked"
    maryam = shop["maryam"]
    with web_client(crm_app) as client:
        csrf = login(client, "agent", "a-long-pass-phrase-1")
        page = client.get(f"/customers/{maryam}")
        assert "ارسال در چت" in page.text and "چت وصل‌شده" in page.text
        empty = client.post(f"/p/messaging/chat/{maryam}", data={"csrf_token": csrf, "text": " "})
        assert empty.status_code == 422
        assert 'id="text-error">write the message</span>' in empty.text
        sent = client.post(
            f"/p/messaging/chat/{maryam}", data={"csrf_token": csrf, "text": "سفارش شما ارسال شد"}
        )
        assert sent.status_code == 200
        assert str(sent.url).endswith(f"/customers/{maryam}?ok=chat_sent")
        assert bot_api.sent[-1] == {"chat_id": "7001", "text": "سفارش شما ارسال شد"}
        client.cookies.clear()
        csrf = login(client, "viewer", "a-long-pass-phrase-1")
        assert "ارسال در چت" not in client.get(f"/customers/{maryam}").text
        refused = client.post(f"/p/messaging/chat/{maryam}", data={"csrf_token": csrf, "text": "x"})
        assert refused.status_code == 403
    assert interactions(crm_app, maryam) == [("message", "out", "سفارش شما ارسال شد")]


def test_a_forgotten_customer_is_unlinked_and_their_chat_texts_erased(
    crm_app, crm_cli, bot_api, shop
):
    from crmcore_messaging.chat import handle_update
    from crmcore_messaging.chat_models import ChatLink, ChatMessage

    from crmcore.api import forget_customer

    with crm_app.unit_of_work() as uow:
        handle_update(uow, message(50, contact=own_contact()))
        handle_update(uow, message(51, text="آدرس من: تهران، خیابان ولیعصر"))
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, shop["maryam"])
    with crm_app.unit_of_work(readonly=True) as uow:
        link = uow.session.scalar(select(ChatLink))
        assert (link.customer_id, link.phone_e164, link.name) == (None, None, None)
        texts = uow.session.scalars(
            select(ChatMessage.text).where(ChatMessage.direction == "in")
        ).all()
        assert "آدرس من: تهران، خیابان ولیعصر" not in texts
    # the next message asks for the contact again
    with crm_app.unit_of_work() as uow:
        assert handle_update(uow, message(52, text="سلام"))["outcome"] == "asked_contact"


def test_a_bot_api_refusal_is_one_line_without_the_token(
    crm_app, crm_cli, bot_api, shop, monkeypatch
):
    monkeypatch.setenv("TEST_BOT_TOKEN", "999:wrong-token")
    out = crm_cli("messages", "chat", "poll", "--once")
    assert out.exit_code == 1
    assert out.stderr.strip().splitlines()[-1].endswith("(getUpdates) refused: 401 Unauthorized")
    assert "wrong-token" not in out.stdout + out.stderr
    monkeypatch.delenv("TEST_BOT_TOKEN")
    out = crm_cli("messages", "chat", "poll", "--once")
    assert out.exit_code == 1 and "TEST_BOT_TOKEN, which is not set" in out.stderr
