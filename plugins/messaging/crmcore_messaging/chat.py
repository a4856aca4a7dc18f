"""The chat channel: the shop's bot on a Telegram-compatible Bot API (Telegram; Bale has the same
methods and shapes at ``https://tapi.bale.ai``).

Updates arrive by webhook (``setWebhook`` with a ``secret_token`` the API sends back in the
``X-Telegram-Bot-Api-Secret-Token`` header, see :mod:`.chat_web`) or by long polling
(``getUpdates`` with ``offset``, for servers without a public URL). Only private chats' ``message``
updates are read.

- A chat not linked to a customer yet is answered with a ``request_contact`` keyboard; the
  customer shares their phone contact, which is accepted only when it is their own (the contact's
  ``user_id`` is the sender's id), matched through the kernel's phone normalisation, and links the
  chat to the oldest active customer with that phone. Messages written before linking are kept and
  recorded once the chat is linked.
- A linked chat's text becomes an interaction (kind ``message``, channel ``chat``, direction
  ``in``) and, when the tickets plugin is enabled, a reply on the customer's chat ticket that is
  not closed, or a new chat ticket (tickets' hook ``tickets_customer_message``).
- Agents answer from the ticket (tickets' ``tickets_reply_sender`` for channel ``chat``) or from
  the customer's page (:func:`send_to_customer`); both call ``sendMessage``.

Each ``update_id`` is stored, so a webhook redelivery or an overlapping poll records nothing twice.
The bot token is read from the environment (setting ``chat_bot_token = env:NAME``) and never
printed: errors name the API's base URL and the method, never the request URL.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Callable
from typing import Any

import attrs
import httpx
from sqlalchemy import select

from crmcore.api import (
    Customer,
    ValidationError,
    get_customer,
    parse_phone,
    record_interaction,
    to_ascii_digits,
)

from .channels.base import DeliveryError
from .chat_models import ChatLink, ChatMessage
from .models import SettingValue
from .settings import get_settings

log = logging.getLogger(__name__)
TELEGRAM = "https://api.telegram.org"
BALE = "https://tapi.bale.ai"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
OFFSET_KEY = "chat_poll_offset"
ALLOWED_UPDATES = ["message"]
MAX_TEXT = 4096  # sendMessage's limit on text

ASK_CONTACT = (
    "سلام! برای این‌که پیام‌های شما به پرونده‌تان برسد، لطفاً با دکمهٔ زیر شمارهٔ تلفن خود را بفرستید."
)
CONTACT_BUTTON = "ارسال شمارهٔ من"
NOT_OWN = "لطفاً شمارهٔ خودتان را با دکمهٔ زیر بفرستید، نه شمارهٔ شخص دیگری را."
UNKNOWN_PHONE = (
    "این شماره در فهرست مشتریان ما نیست. پیام شما را نگه می‌داریم و همکاران ما با شما تماس می‌گیرند."
)
LINKED = "ممنون! گفت‌وگوی شما به پروندهٔ مشتری‌تان وصل شد. پیام خود را بنویسید."


@attrs.frozen
class BotConfig:
    api_url: str
    token: str = attrs.field(repr=False)
    secret: str = attrs.field(repr=False, default="")


def _env(value: str, setting: str) -> str:
    if not value:
        return ""
    name = value[4:]
    resolved = os.environ.get(name)
    if not resolved:
        raise ValidationError(
            f"{setting} reads the environment variable {name}, which is not set", field=setting
        )
    return resolved


def bot_config(uow) -> BotConfig:
    """The bot's settings with its secrets read from the environment; refused when no token."""
    settings = get_settings(uow)
    if not settings["chat_bot_token"]:
        raise ValidationError(
            "no chat bot: set its token first (crm messages settings set chat_bot_token env:NAME)",
            field="chat_bot_token",
        )
    return BotConfig(
        api_url=settings["chat_api_url"],
        token=_env(settings["chat_bot_token"], "chat_bot_token"),
        secret=_env(settings["chat_webhook_secret"], "chat_webhook_secret"),
    )


class BotAPI:
    """Calls ``POST {api_url}/bot{token}/{method}`` with a JSON body; answers ``{"ok": true,
    "result": …}`` or ``{"ok": false, "error_code": …, "description": …}``."""

    def __init__(self, config: BotConfig, *, timeout: float = 15.0):
        self.config = config
        self.timeout = timeout

    def call(self, method: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        where = f"the bot API at {self.config.api_url} ({method})"
        try:
            response = httpx.post(
                f"{self.config.api_url}/bot{self.config.token}/{method}",
                json=payload,
                timeout=timeout or self.timeout,
            )
        except httpx.TimeoutException as exc:
            # the Bot API has no idempotency key: a message that timed out may have been sent
            raise DeliveryError(
                f"{where} did not answer ({type(exc).__name__})",
                retryable=False,
                ambiguous=method == "sendMessage",
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"cannot reach {where}: {type(exc).__name__}", retryable=True
            ) from None
        try:
            data = response.json()
        except ValueError:
            raise DeliveryError(
                f"{where} answered HTTP {response.status_code} with no JSON",
                retryable=response.status_code >= 500,
            ) from None
        if not isinstance(data, dict) or not data.get("ok"):
            code = data.get("error_code", response.status_code) if isinstance(data, dict) else 0
            text = data.get("description", "") if isinstance(data, dict) else ""
            error = DeliveryError(
                f"{where} refused: {code} {text}".strip(),
                retryable=code == 429 or response.status_code >= 500,
            )
            error.code = code  # type: ignore[attr-defined]
            raise error
        return data.get("result")

    def send_message(self, chat_id: str, text: str, reply_markup: dict | None = None) -> str:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text[:MAX_TEXT]}
        if reply_markup is not None:
            payload["reply_markup"] = reply_markup
        result = self.call("sendMessage", payload)
        return str((result or {}).get("message_id", ""))


def contact_keyboard() -> dict[str, Any]:
    """A ReplyKeyboardMarkup with one button that shares the user's own phone contact."""
    return {
        "keyboard": [[{"text": CONTACT_BUTTON, "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


# --- receiving ---------------------------------------------------------------------------------
def handle_update(uow, update: Any) -> dict[str, Any]:
    """Apply one ``Update``; a second delivery of the same ``update_id`` changes nothing."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise ValidationError("an update needs an integer update_id", field="update_id")
    update_id = update["update_id"]
    seen = uow.session.scalar(select(ChatMessage.id).where(ChatMessage.update_id == update_id))
    if seen is not None:
        return {"update_id": update_id, "outcome": "duplicate"}
    msg = update.get("message")
    if (
        not isinstance(msg, dict)
        or not isinstance(msg.get("chat"), dict)
        or msg["chat"].get("type") != "private"
        or not isinstance(msg.get("from"), dict)
    ):
        return {"update_id": update_id, "outcome": "ignored"}
    chat_id, sender = str(msg["chat"]["id"]), msg["from"]
    link = _link_for(uow, chat_id, sender)
    row = ChatMessage(
        chat_id=chat_id,
        update_id=update_id,
        direction="in",
        text=_text_of(msg),
        status="received",
        created_at=uow.now(),
    )
    uow.session.add(row)
    if isinstance(msg.get("contact"), dict):
        return {"update_id": update_id, **_contact(uow, link, row, sender, msg["contact"])}
    if link.customer_id is None:
        queue_out(uow, chat_id, ASK_CONTACT, reply_markup=contact_keyboard())
        return {"update_id": update_id, "outcome": "asked_contact"}
    _record(uow, link, row)
    return {
        "update_id": update_id,
        "outcome": "recorded",
        "customer_id": link.customer_id,
        "ticket_id": row.ticket_id,
    }


def _text_of(msg: dict[str, Any]) -> str:
    if isinstance(msg.get("text"), str):
        return msg["text"]
    if isinstance(msg.get("contact"), dict):
        return f"[contact] {msg['contact'].get('phone_number', '')}"
    kind = next(
        (
            k
            for k in ("photo", "document", "voice", "audio", "video", "sticker", "location")
            if k in msg
        ),
        "message",
    )
    caption = msg.get("caption") if isinstance(msg.get("caption"), str) else ""
    return f"[{kind}] {caption}".strip()


def _link_for(uow, chat_id: str, sender: dict[str, Any]) -> ChatLink:
    link = uow.session.scalar(select(ChatLink).where(ChatLink.chat_id == chat_id))
    name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip() or None
    if link is None:
        link = ChatLink(
            chat_id=chat_id, user_id=str(sender.get("id")), name=name, created_at=uow.now()
        )
        uow.session.add(link)
        uow.session.flush()
    elif name:
        link.name = name[:200]
    return link


def contact_phone(raw: Any) -> str:
    """The E.164 form of a contact's ``phone_number`` (Telegram sends 989121234567, without +)."""
    text = to_ascii_digits(str(raw or "")).strip()
    if text.isdigit() and not text.startswith("0"):
        text = "+" + text
    return parse_phone(text, field="contact").e164


def _contact(uow, link: ChatLink, row: ChatMessage, sender: dict, contact: dict) -> dict[str, Any]:
    if str(contact.get("user_id")) != str(sender.get("id")):
        row.status = "refused"
        queue_out(uow, link.chat_id, NOT_OWN, reply_markup=contact_keyboard())
        return {"outcome": "refused", "reason": "the contact is not the sender's own"}
    try:
        e164 = contact_phone(contact.get("phone_number"))
    except ValidationError:
        row.status = "refused"
        queue_out(uow, link.chat_id, UNKNOWN_PHONE)
        return {"outcome": "refused", "reason": "unreadable phone"}
    customer = uow.session.scalar(
        select(Customer)
        .where(
            Customer.phones.any(e164=e164),
            Customer.merged_into_id.is_(None),
            Customer.forgotten_at.is_(None),
        )
        .order_by(Customer.id)
        .limit(1)
    )
    link.phone_e164 = e164
    if customer is None:
        row.status = "unmatched"
        queue_out(uow, link.chat_id, UNKNOWN_PHONE, reply_markup={"remove_keyboard": True})
        return {"outcome": "unmatched", "phone": e164}
    link.customer_id, link.linked_at = customer.id, uow.now()
    row.status, row.customer_id = "linked", customer.id
    uow.audit(
        "chat_linked", "customer", customer.id, {"chat_id": link.chat_id}, customer_id=customer.id
    )
    queue_out(
        uow, link.chat_id, LINKED, reply_markup={"remove_keyboard": True}, customer_id=customer.id
    )
    waiting = uow.session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.chat_id == link.chat_id,
            ChatMessage.direction == "in",
            ChatMessage.status == "received",
        )
        .order_by(ChatMessage.id)
    ).all()
    for earlier in waiting:
        _record(uow, link, earlier)
    return {"outcome": "linked", "customer_id": customer.id, "recorded_earlier": len(waiting)}


def _record(uow, link: ChatLink, row: ChatMessage) -> None:
    customer = get_customer(uow.session, link.customer_id)
    interaction = record_interaction(
        uow,
        customer,
        kind="message",
        channel="chat",
        direction="in",
        payload={"text": row.text, "chat_id": link.chat_id, "update_id": row.update_id},
    )
    row.customer_id, row.interaction_id, row.status = customer.id, interaction.id, "recorded"
    if uow.has_plugin("tickets"):
        subject = " ".join(row.text.split())[:80] or "پیام چت"
        result = uow.call(
            "tickets_customer_message",
            customer_id=customer.id,
            body=row.text,
            channel="chat",
            subject=f"چت: {subject}",
            source="messaging",
        )
        if isinstance(result, list):  # a host that returns every answer
            result = next((r for r in result if r is not None), None)
        if result is not None:
            row.ticket_id = result[0].id


# --- polling -----------------------------------------------------------------------------------
def poll_once(app, *, wait: int = 0) -> dict[str, Any]:
    """One ``getUpdates`` (long-polling up to ``wait`` seconds), each update applied in its own
    transaction together with the next offset, so a crash never skips or repeats one."""
    with app.unit_of_work(readonly=True) as uow:
        config = bot_config(uow)
        row = uow.session.get(SettingValue, OFFSET_KEY)
        offset = int(row.value) if row is not None else None
    payload: dict[str, Any] = {"timeout": wait, "allowed_updates": ALLOWED_UPDATES}
    if offset is not None:
        payload["offset"] = offset
    updates = BotAPI(config).call("getUpdates", payload, timeout=wait + 15) or []
    outcomes: dict[str, int] = {}
    for update in sorted(updates, key=lambda u: u.get("update_id", 0)):
        with app.unit_of_work(actor="messaging:chat") as uow:
            try:
                with uow.session.begin_nested():
                    outcome = handle_update(uow, update)["outcome"]
            except ValidationError as exc:
                log.warning("chat: update %s skipped: %s", update.get("update_id"), exc)
                outcome = "invalid"
            if isinstance(update.get("update_id"), int):
                _store_offset(uow, update["update_id"] + 1)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"updates": len(updates), "outcomes": outcomes}


def _store_offset(uow, offset: int) -> None:
    row = uow.session.get(SettingValue, OFFSET_KEY)
    if row is None:
        uow.session.add(SettingValue(key=OFFSET_KEY, value=offset))
    elif int(row.value) < offset:
        row.value = offset


def set_webhook(uow, url: str | None) -> dict[str, Any]:
    """Point the bot API at our webhook (``None``: remove it, to poll instead)."""
    config = bot_config(uow)
    api = BotAPI(config)
    if url is None:
        api.call("deleteWebhook", {})
        return {"webhook": None}
    if not url.startswith("https://"):
        raise ValidationError("the bot API sends webhooks to https:// URLs only", field="url")
    if not config.secret:
        raise ValidationError(
            "set chat_webhook_secret (env:NAME) first: the webhook refuses updates without it",
            field="chat_webhook_secret",
        )
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", config.secret):
        raise ValidationError(
            "the bot API takes a secret token of 1-256 letters, digits, _ and -; "
            "change the variable chat_webhook_secret names",
            field="chat_webhook_secret",
        )
    api.call(
        "setWebhook",
        {"url": url, "secret_token": config.secret, "allowed_updates": ALLOWED_UPDATES},
    )
    return {"webhook": url}


def check_secret(uow, given: str | None) -> bool:
    secret = bot_config(uow).secret
    return bool(secret) and hmac.compare_digest((given or "").encode(), secret.encode())


# --- sending -----------------------------------------------------------------------------------
def queue_out(
    uow,
    chat_id: str,
    text: str,
    *,
    reply_markup: dict | None = None,
    customer_id: int | None = None,
    interaction_id: int | None = None,
) -> ChatMessage:
    """Store an outgoing message and send it after the commit (its outcome is stored then)."""
    row = ChatMessage(
        chat_id=chat_id,
        direction="out",
        text=text,
        status="queued",
        customer_id=customer_id,
        interaction_id=interaction_id,
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    config, app, row_id = bot_config(uow), uow.app, row.id
    uow.after_commit(lambda: _send_now(app, config, row_id, chat_id, text, reply_markup))
    return row


def _send_now(
    app, config: BotConfig, row_id: int, chat_id: str, text: str, reply_markup: dict | None
) -> None:
    try:
        ref, status, error = BotAPI(config).send_message(chat_id, text, reply_markup), "sent", None
    except DeliveryError as exc:
        ref, status, error = None, "failed", str(exc)
        log.warning("chat: message %s not sent: %s", row_id, exc)
    with app.unit_of_work(actor="messaging:chat") as uow:
        row = uow.session.get(ChatMessage, row_id)
        if row is not None:  # None: its savepoint was rolled back after it was queued
            row.status, row.error, row.provider_message_id = status, error, ref


def customer_chat(uow, customer: Customer) -> ChatLink:
    link = uow.session.scalar(
        select(ChatLink)
        .where(ChatLink.customer_id == customer.id)
        .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc())
        .limit(1)
    )
    if link is None:
        raise ValidationError(
            f"customer {customer.id} has not linked a chat: they write to the "
            "bot and share their phone contact first",
            field="customer",
        )
    return link


def send_to_customer(uow, customer: Customer, text: str) -> ChatMessage:
    """An agent's message to the customer's linked chat (the 360° page and the CLI)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("write the message", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"a chat message has at most {MAX_TEXT} characters", field="text")
    link = customer_chat(uow, customer)
    interaction = record_interaction(
        uow,
        customer,
        kind="message",
        channel="chat",
        direction="out",
        payload={"text": text, "chat_id": link.chat_id},
    )
    return queue_out(
        uow, link.chat_id, text, customer_id=customer.id, interaction_id=interaction.id
    )


def reply_sender(uow) -> Callable[..., Any] | None:
    """tickets' sender for chat tickets: ``recipient`` is ``customer:<id>``; the chat is looked up
    at sending time (the customer may have linked another chat since)."""
    try:
        config = bot_config(uow)
    except ValidationError:
        return None
    app = uow.app

    def send(recipient: str, subject: str | None, body: str, headers: dict[str, str]) -> str:
        with app.unit_of_work(readonly=True) as read:
            try:
                customer_id = int(str(recipient).removeprefix("customer:"))
                chat_id = customer_chat(read, get_customer(read.session, customer_id)).chat_id
            except (ValueError, ValidationError) as exc:
                raise DeliveryError(f"no chat to send to: {exc}", retryable=False) from None
        return f"chat:{BotAPI(config).send_message(chat_id, body)}"

    return send
