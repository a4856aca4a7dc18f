"""Live integrations contributed by plugins (``crm_integrations``) behind ``crm integrations list|test|status``:
SMS gateways, calendars, mailboxes, chat bots. One place to see what is connected, prove the credentials
work, and see how it has been doing — with secrets never shown.

Secrets are configured as ``env:NAME`` (read from the environment when used) and shown only by that name; a
secret stored literally is shown as ``***``, and its value is scrubbed from any test message.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs

from .errors import NotFound

HIDDEN = "***"


@attrs.frozen
class Integration:
    """One configured integration.

    :param name: unique, namespaced by the plugin (``messaging.kavenegar-main``).
    :param kind: what it talks to (``kavenegar``, ``caldav``, ``imap``…).
    :param summary: one line for people (what it is used for).
    :param settings: its settings as they may be shown (see :func:`shown_settings`).
    :param test: a read-only call to the remote service; returns a short result (``credit 1250``) or raises
        an exception whose message says what is wrong.
    :param status: ``status(uow)`` → a small dict of recent activity (counts by outcome, last success).
    :param secret_values: the secrets' actual values, scrubbed from test messages (never printed).
    """

    name: str
    kind: str
    summary: str
    settings: dict[str, str]
    test: Callable[[], str]
    status: Callable[[Any], dict[str, Any]]
    secret_values: tuple[str, ...] = ()


def shown_settings(
    options: dict[str, Any], secret_keys: tuple[str, ...] | list[str]
) -> dict[str, str]:
    """Settings as they may be printed: ``env:NAME`` stays (a name, not a value); other secrets → ``***``."""
    shown = {}
    for key, value in sorted(options.items()):
        text = str(value)
        shown[key] = text if key not in secret_keys or text.startswith("env:") else HIDDEN
    return shown


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, HIDDEN)
    return text


def integration_registry(app) -> dict[str, Integration]:
    with app.unit_of_work(readonly=True) as uow:
        found: dict[str, Integration] = {}
        for group in uow.call("crm_integrations"):
            for item in group or ():
                found[item.name] = item
    return dict(sorted(found.items()))


def pick(registry: dict[str, Integration], names: list[str]) -> list[Integration]:
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise NotFound(
            f"unknown integration {unknown[0]!r} (configured: {', '.join(registry) or 'none'})",
            field="integration",
        )
    return [i for n, i in registry.items() if not names or n in names]


def run_test(item: Integration) -> dict[str, Any]:
    """Run one connection test; a failure is reported, not raised, with secrets scrubbed."""
    try:
        detail = item.test()
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure of the remote side is the test's answer
        detail, ok = str(exc) or type(exc).__name__, False
    return {
        "name": item.name,
        "kind": item.kind,
        "ok": ok,
        "detail": scrub(str(detail), item.secret_values),
    }


def to_dict(item: Integration) -> dict[str, Any]:
    return {
        "name": item.name,
        "kind": item.kind,
        "summary": item.summary,
        "settings": dict(item.settings),
    }
