"""Email over SMTP: plain, STARTTLS or implicit TLS (SSL), with optional authentication."""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

from .base import DeliveryError, Outgoing, SendResult, secret


class SMTPChannel:
    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.host = str(options["host"])
        self.security = options.get("security", "starttls")
        self.port = int(options.get("port") or (465 if self.security == "ssl" else 587))
        self.timeout = int(options.get("timeout") or 20)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.options.get("ca_file") or None)

    def build(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        sender = str(self.options["sender"])
        name = self.options.get("sender_name")
        msg["From"] = formataddr((str(name), sender)) if name else sender
        msg["To"] = out.recipient
        msg["Subject"] = out.subject or ""
        msg["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(out.idempotency_key.encode()).hexdigest()[:24]
        # a stable Message-ID: receiving servers can drop a duplicate of the same message
        msg["Message-ID"] = f"<crm-{out.message_id}-{digest}@{sender.rsplit('@', 1)[-1]}>"
        for name, value in out.headers:
            del msg[name]
            msg[name] = value
        msg.set_content(out.body)
        return msg

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    client.starttls(context=self._tls())
            user = secret(self.options, "username", required=False)
            if user:
                client.login(user, secret(self.options, "password") or "")
            return client
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP login refused ({exc.smtp_code}): check username and password",
                retryable=False,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"SMTP server {self.host}:{self.port} does not support it: {exc}", retryable=False
            ) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"TLS with {self.host}:{self.port} failed: {exc.reason or exc}", retryable=False
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP server said {exc.smtp_code} {_text(exc.smtp_error)}",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"cannot reach SMTP server {self.host}:{self.port}: {exc}", retryable=True
            ) from None

    def send(self, out: Outgoing) -> SendResult:
        message = self.build(out)
        client = self._connect()
        try:
            refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(
                f"recipient {out.recipient} refused: {code} {_text(text)}",
                retryable=400 <= code < 500,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP server said {exc.smtp_code} {_text(exc.smtp_error)}",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except (socket.timeout, OSError, smtplib.SMTPServerDisconnected) as exc:
            raise DeliveryError(
                f"the connection to {self.host} broke while sending ({exc}); the server may "
                "have accepted the message",
                retryable=False,
                ambiguous=True,
            ) from None
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass
        if refused:
            code, text = refused[out.recipient]
            raise DeliveryError(
                f"recipient refused: {code} {_text(text)}", retryable=400 <= code < 500
            )
        return SendResult(message["Message-ID"])


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
