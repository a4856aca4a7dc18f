"""Mailboxes polled for tickets: IMAP folders (TLS, STARTTLS; IDLE where the server offers it) and
Maildir directories, stored as the tickets setting ``email_sources``.

Each message goes through the same threading as ``crm tickets email import``: an answer to a
ticket becomes a reply in its thread, a new mail opens a ticket dated by the mail's Date.

Why a crash never loses or doubles a message: each message is stored in its own transaction and
only *after* the commit is it marked ``\\Seen`` (or moved to ``move_to``) on the server or in the
Maildir. A crash between the two leaves it unseen; the next poll finds its Message-ID already
stored on a ticket, counts it as a duplicate and marks it then. A message without a Message-ID
gets one made from a hash of its bytes, so it is recognised the same way. Messages that can never
become tickets (auto-replies, no sender) are reported once and marked seen, left in the folder.

Passwords are never stored: a source keeps ``env:NAME`` and the password is read from the
environment variable NAME when connecting.
"""

from __future__ import annotations

import hashlib
import imaplib
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crmcore.api import CRMError, NotFound, ValidationError, get_setting, set_setting

from .email_in import IncomingEmail, import_message, parse_message, read_sources
from .models import TicketMessage

SETTING = ("tickets", "email_sources")
KINDS = ("imap", "maildir")
SECURITY = ("tls", "starttls", "none")
DEFAULT_PORT = {"tls": 993, "starttls": 143, "none": 143}
#: IMAP servers may drop an IDLE after 30 minutes (RFC 2177): it is renewed before that
MAX_IDLE_SECONDS = 25 * 60
BATCH = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""")
_ENV = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")


class SourceError(Exception):
    """A mailbox cannot be read (connection, login, folder, missing password variable)."""


@attrs.frozen
class Source:
    name: str
    kind: str
    host: str | None = None
    port: int | None = None
    security: str = "tls"
    username: str | None = None
    password: str | None = None  # always ``env:NAME``
    folder: str = "INBOX"
    move_to: str | None = None
    ca_file: str | None = None
    path: str | None = None

    def describe(self) -> str:
        if self.kind == "maildir":
            return f"maildir {self.path}"
        then = f", then moved to {self.move_to}" if self.move_to else ", then marked seen"
        return (
            f"imap {self.username}@{self.host}:{self.port} ({self.security}) "
            f"folder {self.folder}{then}"
        )


def source_to_dict(source: Source) -> dict[str, Any]:
    """The stored settings; the password is the ``env:NAME`` reference, never its value."""
    return attrs.asdict(source)


def _stored(uow) -> dict[str, dict]:
    return dict(get_setting(uow, *SETTING, {}) or {})


def list_sources(uow) -> list[Source]:
    return [Source(**row) for _, row in sorted(_stored(uow).items())]


def get_source(uow, name: str) -> Source:
    row = _stored(uow).get(name)
    if row is None:
        raise NotFound(f"no email source named {name!r}", field="name")
    return Source(**row)


def add_source(
    uow,
    name: str,
    *,
    kind: str,
    host: str | None = None,
    port: int | None = None,
    security: str = "tls",
    username: str | None = None,
    password: str | None = None,
    folder: str = "INBOX",
    move_to: str | None = None,
    ca_file: str | None = None,
    path: str | None = None,
    replace: bool = False,
) -> Source:
    """Store a mailbox source; refuses incomplete settings and a password not given as
    ``env:NAME``."""
    if not _NAME.match(name or ""):
        raise ValidationError(
            "the source name takes letters, digits, '.', '_' and '-' (up to 40)", field="name"
        )
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    stored = _stored(uow)
    if name in stored and not replace:
        raise ValidationError(f"an email source named {name!r} exists already", field="name")
    if kind == "maildir":
        if not path:
            raise ValidationError("a maildir source needs --path", field="path")
        source = Source(name=name, kind=kind, path=str(Path(path).expanduser().absolute()))
    else:
        source = _imap_source(
            name, host, port, security, username, password, folder, move_to, ca_file
        )
    stored[name] = attrs.asdict(source)
    set_setting(uow, *SETTING, stored)
    return source


def _imap_source(name, host, port, security, username, password, folder, move_to, ca_file):
    for field, value in (("host", host), ("username", username), ("password", password)):
        if not value:
            raise ValidationError(f"an imap source needs --{field}", field=field)
    if security not in SECURITY:
        raise ValidationError(f"security must be one of {', '.join(SECURITY)}", field="security")
    if not _ENV.match(password):
        # a password in the database would be readable by anyone with a backup of it
        raise ValidationError(
            "the password is given as env:NAME (the environment variable holding it)",
            field="password",
        )
    if port is not None and not 0 < int(port) < 65536:
        raise ValidationError("the port is between 1 and 65535", field="port")
    if not (folder or "").strip():
        raise ValidationError("the folder cannot be empty", field="folder")
    if move_to is not None and (not move_to.strip() or move_to == folder):
        raise ValidationError("--move-to names another folder than --folder", field="move_to")
    return Source(
        name=name,
        kind="imap",
        host=host,
        port=int(port or DEFAULT_PORT[security]),
        security=security,
        username=username,
        password=password,
        folder=folder,
        move_to=move_to or None,
        ca_file=ca_file or None,
    )


def remove_source(uow, name: str) -> None:
    stored = _stored(uow)
    if name not in stored:
        raise NotFound(f"no email source named {name!r}", field="name")
    del stored[name]
    set_setting(uow, *SETTING, stored)


# --- IMAP -----------------------------------------------------------------------------------------
def _password(source: Source) -> str:
    variable = (source.password or "")[4:]
    value = os.environ.get(variable)
    if value is None:
        raise SourceError(
            f"the password is read from the environment variable {variable}, which is not set"
        )
    return value


def open_imap(source: Source, *, timeout: float = 30):
    """A logged-in IMAPClient with the source's folder selected (``move_to`` created if missing)."""
    from imapclient import IMAPClient

    context = None
    if source.security != "none":
        context = ssl.create_default_context(cafile=source.ca_file)
    client = IMAPClient(
        source.host,
        port=source.port,
        ssl=source.security == "tls",
        ssl_context=context,
        timeout=timeout,
    )
    try:
        if source.security == "starttls":
            client.starttls(context)
        password = _password(source)
        if password.isascii():
            client.login(source.username, password)
        else:  # LOGIN is ASCII only; AUTHENTICATE PLAIN carries UTF-8 (a Persian password)
            client.plain_login(source.username, password)
        if not client.folder_exists(source.folder):
            raise SourceError(f"the folder {source.folder!r} does not exist")
        if source.move_to and not client.folder_exists(source.move_to):
            client.create_folder(source.move_to)
        client.select_folder(source.folder)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client) -> None:
    try:
        client.logout()
    except Exception:  # the connection is going away anyway; nothing left to tell the server
        try:
            client.shutdown()
        except Exception:
            pass


def _imap_done(client, source: Source, uid: int) -> Callable[[], None]:
    def done() -> None:
        if source.move_to:
            if client.has_capability("MOVE"):
                client.move([uid], source.move_to)
                return
            client.copy([uid], source.move_to)
            client.add_flags([uid], [b"\\Deleted"])
            client.expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()
        else:
            client.add_flags([uid], [b"\\Seen"])

    return done


def _imap_seen(client, uid: int) -> Callable[[], None]:
    return lambda: client.add_flags([uid], [b"\\Seen"])


def _imap_items(client, source: Source) -> list[tuple[str, bytes, Callable, Callable]]:
    uids = sorted(client.search(["UNSEEN", "NOT", "DELETED"]))[:BATCH]
    if not uids:
        return []
    fetched = client.fetch(uids, ["BODY.PEEK[]"])
    return [
        (
            f"{source.name}:{uid}",
            fetched[uid][b"BODY[]"],
            _imap_done(client, source, uid),
            _imap_seen(client, uid),
        )
        for uid in uids
        if uid in fetched
    ]


def _idle(client, seconds: float, stop: threading.Event) -> None:
    """Wait in IDLE until the folder changes, ``seconds`` pass, or ``stop`` is set."""
    deadline = time.monotonic() + min(seconds, MAX_IDLE_SECONDS)
    client.idle()
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            responses = client.idle_check(timeout=min(1.0, max(0.05, deadline - time.monotonic())))
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
    finally:
        client.idle_done()


# --- polling --------------------------------------------------------------------------------------
def _content_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.crmcore.invalid>"


def _stored_already(app, message_id: str | None) -> bool:
    with app.unit_of_work(readonly=True) as uow:
        return (
            message_id is not None
            and uow.session.scalar(
                select(TicketMessage.id).where(TicketMessage.email_message_id == message_id)
            )
            is not None
        )


def _import(
    app,
    source: Source,
    items: Iterable[tuple[str, bytes, Callable, Callable]],
    lock: threading.Lock | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    parsed: list[tuple[IncomingEmail, Callable]] = []
    rejected: list[dict] = []
    for label, raw, done, reject in items:
        try:
            mail = parse_message(raw, label)
        except ValidationError as exc:
            rejected.append({"source": label, "reason": exc.message})
            reject()
            continue
        if mail.message_id is None:
            mail = attrs.evolve(mail, message_id=_content_id(raw))
        parsed.append((mail, done))
    # oldest first, so an original is stored before the replies that thread to it
    parsed.sort(key=lambda item: item[0].sent_at or datetime.max.replace(tzinfo=timezone.utc))
    imported: list[dict] = []
    for mail, done in parsed:
        try:
            with lock or _NO_LOCK, app.unit_of_work(actor) as uow:
                imported.append(import_message(uow, mail))
        except IntegrityError:
            # another poller of the same mailbox stored it between our check and our insert
            if not _stored_already(app, mail.message_id):
                raise
            imported.append({"source": mail.source, "action": "duplicate", "ticket": None})
        except CRMError as exc:
            rejected.append({"source": mail.source, "reason": exc.message})
            continue  # left unseen: it is tried (and reported) again next time
        done()
    return {"source": source.name, "imported": imported, "rejected": rejected, "error": None}


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()
#: what a failing mailbox raises: reported in one line, the other sources go on
SOURCE_ERRORS = (
    SourceError,
    OSError,
    imaplib.IMAP4.error,
    ssl.SSLError,
    socket.timeout,
    ValidationError,
)


def reason(exc: BaseException, source: Source | None = None) -> str:
    """Why a source failed, in words a shop owner can act on."""
    from imapclient.exceptions import LoginError

    where = f"{source.host}:{source.port}" if source is not None and source.host else "the server"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the certificate of {where} is not trusted ({exc.verify_message}); "
            "give --ca-file for a server with its own certificate"
        )
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot connect to {where}: unknown host"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"{where} did not answer in time"
    text = exc.message if isinstance(exc, CRMError) else exc.args[0] if exc.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text).split()) or type(exc).__name__
    if isinstance(exc, LoginError):  # imapclient wraps the server's bytes in str(): b'[…] …'
        said = _BYTES_REPR.sub(r"\2", text)
        return f"login refused by {where}: {said}"
    if isinstance(exc, (SourceError, CRMError)):
        return text
    return f"{type(exc).__name__}: {text}"


def _maildir_items(source: Source):
    for label, raw, done in read_sources([source.path]):
        yield label, raw, done, done


def poll_source(
    app, source: Source, *, timeout: float = 30, actor: str | None = None
) -> dict[str, Any]:
    """Import the unseen messages of one mailbox; a failure is returned as ``error``, not raised."""
    try:
        if source.kind == "maildir":
            return _import(app, source, list(_maildir_items(source)), actor=actor)
        client = open_imap(source, timeout=timeout)
        try:
            return _import(app, source, _imap_items(client, source), actor=actor)
        finally:
            _close(client)
    except SOURCE_ERRORS as exc:
        return {"source": source.name, "imported": [], "rejected": [], "error": reason(exc, source)}


def poll_all(
    app, names: Iterable[str] = (), *, timeout: float = 30, actor: str | None = None
) -> list[dict[str, Any]]:
    """One poll of every source (or the named ones), each on its own. Opens its own transactions:
    call it outside any (on SQLite a writer inside one would wait for itself)."""
    with app.unit_of_work(readonly=True) as uow:
        sources = [get_source(uow, n) for n in names] if names else list_sources(uow)
    return [poll_source(app, s, timeout=timeout, actor=actor) for s in sources]


def check_source(source: Source, *, timeout: float = 30) -> dict[str, Any]:
    """Connect, log in, open the folder; the number of messages waiting. Raises SOURCE_ERRORS."""
    if source.kind == "maildir":
        return {"source": source.name, "waiting": sum(1 for _ in read_sources([source.path]))}
    client = open_imap(source, timeout=timeout)
    try:
        waiting = len(client.search(["UNSEEN", "NOT", "DELETED"]))
        return {"source": source.name, "waiting": waiting, "idle": client.has_capability("IDLE")}
    finally:
        _close(client)


def summary(result: dict[str, Any]) -> str:
    """One line for a person: counts per action, or why the source failed."""
    if result["error"]:
        return f"{result['source']}: failed: {result['error']}"
    counts: dict[str, int] = {}
    for row in result["imported"]:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
    order = ("opened", "replied", "follow_up", "duplicate")
    parts = [f"{counts[action]} {action.replace('_', '-')}" for action in order if action in counts]
    if result["rejected"]:
        parts.append(f"{len(result['rejected'])} rejected")
    return f"{result['source']}: {', '.join(parts) or 'no new mail'}"


# --- watching -------------------------------------------------------------------------------------
def watch(
    app,
    sources: list[Source],
    report: Callable[[dict], None],
    stop: threading.Event,
    *,
    interval: float = 60,
    timeout: float = 30,
) -> None:
    """Poll every source until ``stop`` is set, each in its own thread: IMAP folders wait in IDLE
    where offered (a new mail is read at once), otherwise every ``interval`` seconds."""
    lock = threading.Lock()  # one database writer at a time (SQLite allows no more anyway)
    threads = [
        threading.Thread(
            target=_watch_one,
            name=f"mail-{s.name}",
            daemon=True,
            args=(app, s, report, stop, interval, timeout, lock),
        )
        for s in sources
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _watch_one(app, source, report, stop, interval, timeout, lock) -> None:
    while not stop.is_set():
        try:
            if source.kind == "maildir":
                report(_import(app, source, list(_maildir_items(source)), lock))
                stop.wait(interval)
                continue
            client = open_imap(source, timeout=timeout)
            try:
                while not stop.is_set():
                    report(_import(app, source, _imap_items(client, source), lock))
                    if client.has_capability("IDLE"):
                        _idle(client, interval, stop)
                    else:
                        stop.wait(interval)
            finally:
                _close(client)
        except Exception as exc:  # noqa: BLE001 — one failing mailbox must not stop the others
            report(
                {
                    "source": source.name,
                    "imported": [],
                    "rejected": [],
                    "error": reason(exc, source),
                }
            )
            stop.wait(interval)
