"""``crm messages chat …``: the chat bot (poll, webhook, status, send)."""

from __future__ import annotations

import time

import click

from crmcore.api import echo_json, get_app


def _bot_error(exc) -> Exception:
    """The bot API's refusal as the one-line error every command prints (the token never in it)."""
    from crmcore.api import CRMError

    return CRMError(str(exc), field="bot")


@click.group()
def chat():
    """The shop's chat bot (Telegram-compatible Bot API; Bale at https://tapi.bale.ai)."""


@chat.command("poll")
@click.option(
    "--once", is_flag=True, help="One getUpdates call, then stop (else poll until Ctrl-C)."
)
@click.option(
    "--wait",
    type=click.IntRange(0, 50),
    default=25,
    show_default=True,
    help="Seconds each getUpdates call waits for new messages (long polling).",
)
@click.option("--json", "as_json", is_flag=True)
def poll(once, wait, as_json):
    """Fetch new messages from the bot API (for servers the bot API cannot call)."""
    from .channels.base import DeliveryError
    from .chat import poll_once

    app = get_app()
    while True:
        try:
            out = poll_once(app, wait=0 if once else wait)
        except DeliveryError as exc:
            raise _bot_error(exc) from None
        except KeyboardInterrupt:
            return
        if as_json:
            echo_json(out)
        else:
            done = ", ".join(
                f"{n} {k.replace('_', ' ')}" for k, n in sorted(out["outcomes"].items())
            )
            click.echo(f"{out['updates']} update(s)" + (f": {done}" if done else ""))
        if once:
            return
        if not out["updates"]:
            time.sleep(1)


@chat.command("webhook")
@click.argument("url", required=False)
@click.option("--delete", is_flag=True, help="Remove the webhook (to poll instead).")
def webhook(url, delete):
    """Tell the bot API to send updates to URL (https://…/hooks/messaging/chat), with the
    chat_webhook_secret as its secret token."""
    from crmcore.api import ValidationError

    from .channels.base import DeliveryError
    from .chat import set_webhook

    if not delete and not url:
        raise ValidationError("give the webhook URL, or --delete", field="url")
    try:
        with get_app().unit_of_work() as uow:
            out = set_webhook(uow, None if delete else url)
    except DeliveryError as exc:
        raise _bot_error(exc) from None
    click.echo(
        "webhook removed; poll with `crm messages chat poll`"
        if delete
        else f"the bot API now sends updates to {out['webhook']}"
    )


@chat.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json):
    """The bot's settings (secrets only by their variable name) and its chats."""
    from sqlalchemy import func, select

    from .chat import OFFSET_KEY
    from .chat_models import ChatLink, ChatMessage
    from .models import SettingValue
    from .settings import get_settings

    with get_app().unit_of_work(readonly=True) as uow:
        s = get_settings(uow)
        offset = uow.session.get(SettingValue, OFFSET_KEY)
        out = {
            "api_url": s["chat_api_url"],
            "token": s["chat_bot_token"] or None,
            "webhook_secret": s["chat_webhook_secret"] or None,
            "chats": uow.session.scalar(select(func.count()).select_from(ChatLink)),
            "linked": uow.session.scalar(
                select(func.count()).select_from(ChatLink).where(ChatLink.customer_id.is_not(None))
            ),
            "waiting_for_contact": uow.session.scalar(
                select(func.count())
                .select_from(ChatMessage)
                .where(ChatMessage.status == "received")
            ),
            "failed_out": uow.session.scalar(
                select(func.count())
                .select_from(ChatMessage)
                .where(ChatMessage.direction == "out", ChatMessage.status == "failed")
            ),
            "poll_offset": offset.value if offset else None,
        }
    if as_json:
        echo_json(out)
        return
    click.echo(f"bot API:          {out['api_url']}")
    click.echo(f"token:            {out['token'] or 'not set'}")
    click.echo(f"webhook secret:   {out['webhook_secret'] or 'not set'}")
    click.echo(f"chats:            {out['chats']} ({out['linked']} linked to a customer)")
    click.echo(f"messages waiting for a contact: {out['waiting_for_contact']}")
    click.echo(f"replies not sent: {out['failed_out']}")


@chat.command("send")
@click.argument("customer")
@click.argument("text")
def send(customer, text):
    """Send TEXT to the chat CUSTOMER linked."""
    from crmcore.api import resolve_customer

    from .chat import send_to_customer

    app = get_app()
    with app.unit_of_work() as uow:
        row = send_to_customer(uow, resolve_customer(uow.session, customer), text)
        row_id = row.id
    with app.unit_of_work(readonly=True) as uow:
        from .chat_models import ChatMessage

        row = uow.session.get(ChatMessage, row_id)
        error = f" ({row.error})" if row.error else ""
        click.echo(f"chat message {row.id}: {row.status}{error}")
