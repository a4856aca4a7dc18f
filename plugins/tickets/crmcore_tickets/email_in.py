"""Incoming email to tickets: read ``.eml`` files or a Maildir, thread replies to the right ticket, create the
customer when the sender is unknown.

Threading, in order: a ``In-Reply-To``/``References`` id of a message stored on a ticket (incoming mail, or the
id given to an agent's reply); then a ``[#123]`` tag in the subject, if ticket 123 belongs to the sender.
A reply to a closed ticket opens a follow-up ticket linked to it. A message whose ``Message-ID`` is stored
already is skipped, so importing a mailbox twice is harmless. Auto-replies (``Auto-Submitted``) are skipped so
two robots cannot answer each other forever.

The whole import is one transaction; messages that cannot be read (no sender, broken address) are reported
and left unseen in the Maildir, the others are imported.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable, Iterator

import attrs
from sqlalchemy import select

from crmcore.api import (
    CRMError,
    Customer,
    NotFound,
    ValidationError,
    add_customer,
    parse_email,
    resolve_customer,
    to_ascii_digits,
)

from .models import Ticket, TicketMessage
from .service import customer_reply, open_ticket

_MSGID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"\[\s*#\s*([0-9۰-۹٠-٩]+)\s*\]")
_WROTE = re.compile(r"^(On .{4,200} wrote:|در تاریخ .{4,200} نوشت:)\s*$")


@attrs.frozen
class IncomingEmail:
    source: str
    message_id: str | None
    from_address: str
    from_name: str
    subject: str
    body: str
    references: tuple[str, ...]
    sent_at: datetime | None = None


@attrs.frozen
class Rejected:
    source: str
    reason: str


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(" ".join(line.split()) for line in "".join(parser.parts).splitlines()).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: stop at "On … wrote:" (or its Persian form) and drop ``>`` quoted lines."""
    kept = []
    for line in text.splitlines():
        if _WROTE.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


def parse_message(raw: bytes, source: str) -> IncomingEmail:
    """Read one RFC 5322 message; :class:`ValidationError` says why it cannot become a ticket."""
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        raise ValidationError(
            f"an automatic message (Auto-Submitted: {auto}) is not turned into a ticket",
            field="email",
        )
    name, address = parseaddr(str(msg.get("From", "")))
    if not address:
        raise ValidationError("the message has no From address", field="from")
    address = parse_email(address, field="from").address
    subject = " ".join(str(msg.get("Subject", "")).split())[:300] or "(بدون موضوع / no subject)"
    part = msg.get_body(preferencelist=("plain", "html"))
    body = ""
    if part is not None:
        content = part.get_content()
        body = html_to_text(content) if part.get_content_type() == "text/html" else content
    refs = _MSGID.findall(str(msg.get("In-Reply-To", ""))) + _MSGID.findall(
        str(msg.get("References", ""))
    )
    message_id = (_MSGID.findall(str(msg.get("Message-ID", ""))) or [None])[0]
    return IncomingEmail(
        source=source,
        message_id=message_id,
        from_address=address,
        from_name=" ".join(name.split()),
        subject=subject,
        body=strip_quoted(body) or subject,
        references=tuple(dict.fromkeys(reversed(refs))),
        sent_at=_date(msg.get("Date")),
    )


def _date(header) -> datetime | None:
    try:
        value = parsedate_to_datetime(str(header)) if header else None
    except (TypeError, ValueError):
        return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def _customer(uow, mail: IncomingEmail) -> tuple[Customer, bool]:
    try:
        return resolve_customer(uow.session, mail.from_address), False
    except NotFound:
        pass
    name = mail.from_name or mail.from_address.split("@")[0]
    return add_customer(uow, name=name, emails=[mail.from_address]), True


def _follow(session, ticket: Ticket) -> Ticket:
    while ticket.merged_into_id is not None:
        ticket = session.get(Ticket, ticket.merged_into_id)
    return ticket


def find_thread(session, mail: IncomingEmail, customer: Customer) -> Ticket | None:
    if mail.references:
        found = session.scalar(
            select(TicketMessage.ticket_id)
            .where(TicketMessage.email_message_id.in_(mail.references))
            .order_by(TicketMessage.id.desc())
            .limit(1)
        )
        if found is not None:
            return _follow(session, session.get(Ticket, found))
    tag = _TAG.search(mail.subject)
    if tag:
        ticket = session.get(Ticket, int(to_ascii_digits(tag.group(1))))
        if ticket is not None and ticket.customer_id == customer.id:
            return _follow(session, ticket)
    return None


def import_message(uow, mail: IncomingEmail) -> dict:
    """Turn one parsed email into a new ticket, a reply, or a follow-up of a closed ticket."""
    session = uow.session
    if (
        mail.message_id
        and session.scalar(
            select(TicketMessage.id).where(TicketMessage.email_message_id == mail.message_id)
        )
        is not None
    ):
        return {"source": mail.source, "action": "duplicate", "ticket": None}
    customer, created = _customer(uow, mail)
    ticket = find_thread(session, mail, customer)
    common = dict(email_message_id=mail.message_id, email_from=mail.from_address)
    if ticket is not None and ticket.state != "closed":
        customer_reply(uow, ticket.id, mail.body, channel="email", **common)
        action, tid = "replied", ticket.id
    else:
        sent = mail.sent_at.astimezone(timezone.utc) if mail.sent_at else None
        # the message's own Date, unless a wrong clock put it in the future
        new = open_ticket(
            uow,
            customer,
            subject=mail.subject,
            body=mail.body,
            channel="email",
            source="email",
            follow_up_of=ticket.id if ticket is not None else None,
            at=sent if sent is not None and sent <= uow.now() else None,
            **common,
        )
        action, tid = ("follow_up" if ticket is not None else "opened"), new.id
    return {
        "source": mail.source,
        "action": action,
        "ticket": tid,
        "customer": customer.id,
        "new_customer": created,
    }


Item = tuple[str, bytes, Callable[[], None]]


def read_sources(paths: Iterable[str | Path], *, include_seen: bool = False) -> Iterator[Item]:
    """``(label, raw bytes, mark_done)`` for each ``.eml`` file or each message of a Maildir directory."""
    for path in map(Path, paths):
        if path.is_dir():
            if not all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
                raise ValidationError(
                    f"{path} is a directory but not a Maildir (it needs cur/, new/ and tmp/)",
                    field="path",
                )
            box = mailbox.Maildir(str(path), factory=None, create=False)
            for key in sorted(box.keys()):
                message = box.get_message(key)
                if "S" in message.get_flags() and not include_seen:
                    continue
                yield f"{path}:{key}", box.get_bytes(key), _mark_seen(box, key)
        elif path.is_file():
            yield str(path), path.read_bytes(), lambda: None
        else:
            raise ValidationError(f"{path} does not exist", field="path")


def _mark_seen(box: mailbox.Maildir, key: str) -> Callable[[], None]:
    def done() -> None:
        message = box.get_message(key)
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message

    return done


def import_emails(app, paths: Iterable[str | Path], *, include_seen: bool = False) -> dict:
    """Import messages in one transaction; unreadable ones are reported and left as they are."""
    accepted: list[tuple[IncomingEmail, Callable[[], None]]] = []
    rejected: list[Rejected] = []
    for label, raw, done in read_sources(paths, include_seen=include_seen):
        try:
            accepted.append((parse_message(raw, label), done))
        except ValidationError as exc:
            rejected.append(Rejected(label, exc.message))
    # oldest first, so an original is stored before the replies that thread to it
    accepted.sort(key=lambda item: item[0].sent_at or datetime.max.replace(tzinfo=timezone.utc))
    results = []
    with app.unit_of_work() as uow:
        for mail, done in accepted:
            try:
                results.append(import_message(uow, mail))
            except CRMError as exc:
                raise type(exc)(f"{mail.source}: {exc.message}", field=exc.field) from exc
            uow.after_commit(done)
    return {"imported": results, "rejected": [attrs.asdict(r) for r in rejected]}
