"""The channel interface, delivery errors, and the registry of provider kinds."""

from __future__ import annotations

import importlib
import os
from typing import Any, Protocol

import attrs

from crmcore.api import ValidationError


@attrs.frozen
class Outgoing:
    """What a channel hands to its provider."""

    message_id: int
    channel: str  # sms | email
    recipient: str  # E.164 phone or email address
    body: str
    subject: str | None = None
    idempotency_key: str = ""
    #: email headers the sender decided (a ticket reply's Message-ID, In-Reply-To and References,
    #: so the customer's answer threads back)
    headers: tuple[tuple[str, str], ...] = ()
    category: str = "transactional"  # promotional messages go out on an advertising line
    attempt: int = 1  # > 1: a retry (gateways that can look up our id check before sending again)


@attrs.frozen
class SendResult:
    provider_message_id: str | None
    status: str = (
        "sent"  # sent | delivered (a channel that knows it is delivered, e.g. the file channel)
    )


class DeliveryError(Exception):
    """The provider did not take the message.

    :param retryable: trying again later may work (timeouts before sending, 429, 5xx, 4xx SMTP replies).
    :param ambiguous: the provider may have taken it (a read timeout after the request was sent, with no
        provider-side deduplication); such a message is marked ``unknown`` and never resent.
    """

    def __init__(self, message: str, *, retryable: bool, ambiguous: bool = False):
        super().__init__(message)
        self.retryable = retryable and not ambiguous
        self.ambiguous = ambiguous


class Channel(Protocol):
    def send(self, out: Outgoing) -> SendResult: ...


def secret(options: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    """An option value; ``env:NAME`` reads the environment variable NAME (keeps keys out of the database)."""
    value = options.get(key)
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        value = os.environ.get(name)
        if value is None and required:
            raise DeliveryError(
                f"option {key!r} reads the environment variable {name}, which is not set",
                retryable=False,
            )
    if (value is None or value == "") and required:
        raise DeliveryError(f"the provider has no {key!r} option", retryable=False)
    return value


#: kind → (channels it serves, required options, optional options)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "smtp": (
        ("email",),
        ("host", "sender"),
        ("port", "security", "username", "password", "sender_name", "timeout", "ca_file"),
    ),
    "kavenegar": (
        ("sms",),
        ("api_key",),
        ("url", "sender", "service_line", "advertising_line", "timeout"),
    ),
    "ghasedak": (
        ("sms",),
        ("api_key",),
        ("url", "sender", "service_line", "advertising_line", "timeout"),
    ),
    "smsir": (
        ("sms",),
        ("api_key",),
        ("url", "sender", "service_line", "advertising_line", "timeout"),
    ),
    "melipayamak": (
        ("sms",),
        ("username", "password"),
        ("url", "sender", "service_line", "advertising_line", "timeout"),
    ),
    "twilio": (
        ("sms",),
        ("account_sid", "auth_token"),
        ("url", "sender", "messaging_service_sid", "status_callback", "timeout"),
    ),
    "file": (("sms", "email"), ("path",), ()),
}


def validate_options(kind: str, channel: str, options: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValidationError(f"unknown provider kind {kind!r} ({', '.join(KINDS)})", field="kind")
    channels, required, optional = KINDS[kind]
    if channel not in channels:
        raise ValidationError(
            f"a {kind} provider sends {' or '.join(channels)}, not {channel}", field="channel"
        )
    unknown = sorted(set(options) - set(required) - set(optional))
    if unknown:
        raise ValidationError(
            f"unknown option {unknown[0]!r} for {kind} (options: {', '.join(required + optional)})",
            field="option",
        )
    missing = [k for k in required if not options.get(k)]
    if missing:
        raise ValidationError(f"a {kind} provider needs the option {missing[0]!r}", field="option")
    if kind == "smtp":
        if options.get("security", "starttls") not in ("none", "starttls", "ssl"):
            raise ValidationError("security is none, starttls or ssl", field="option")
        for key in ("port", "timeout"):
            if key in options and not str(options[key]).isdigit():
                raise ValidationError(f"{key} must be a whole number", field="option")
    if kind == "twilio" and not (options.get("sender") or options.get("messaging_service_sid")):
        raise ValidationError(
            "a twilio provider needs 'sender' or 'messaging_service_sid'", field="option"
        )
    if "timeout" in options and not str(options["timeout"]).isdigit():
        raise ValidationError("timeout is a whole number of seconds", field="option")
    return dict(options)


#: Iranian gateways: kind → (module, class); each offers send, bulk, template, poll and callbacks
GATEWAYS = {
    "ghasedak": ("ghasedak", "GhasedakChannel"),
    "smsir": ("smsir", "SmsIrChannel"),
    "melipayamak": ("melipayamak", "MelipayamakChannel"),
}
#: option names whose values are secrets (shown as *** unless they name an environment variable)
SECRET_OPTIONS = ("api_key", "auth_token", "password")


def build_channel(kind: str, options: dict[str, Any]) -> Channel:
    if kind == "smtp":
        from .smtp import SMTPChannel

        return SMTPChannel(options)
    if kind == "kavenegar":
        from .kavenegar import KavenegarChannel

        return KavenegarChannel(options)
    if kind in GATEWAYS:
        module, cls = GATEWAYS[kind]
        return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(options)
    if kind == "twilio":
        from .twilio import TwilioChannel

        return TwilioChannel(options)
    if kind == "file":
        from .file import FileChannel

        return FileChannel(options)
    raise ValidationError(f"unknown provider kind {kind!r}", field="kind")
