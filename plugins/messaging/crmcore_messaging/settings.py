"""The plugin's policy settings (quiet hours, frequency cap, retries, opt-out keywords…), stored in
``messaging_settings`` and validated on the way in."""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Callable

import attrs

from crmcore.api import ValidationError, normalize, to_ascii_digits

from .models import LANGUAGES, SettingValue


def _hours(raw: Any) -> str:
    text = to_ascii_digits(str(raw)).strip()
    if text.lower() in ("", "off", "none"):
        return "off"
    m = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
    if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
        raise ValidationError(
            f"{raw!r} is not a range of local times like 22:00-08:00 (or 'off')",
            field="quiet_hours",
        )
    return f"{int(m[1]):02d}:{m[2]}-{int(m[3]):02d}:{m[4]}"


def _cap(raw: Any) -> str:
    text = to_ascii_digits(str(raw)).strip()
    if text.lower() in ("", "off", "none"):
        return "off"
    m = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
    if not m or int(m[1]) < 1 or int(m[2]) < 1:
        raise ValidationError(
            f"{raw!r} is not a cap like 3/7 (at most 3 promotional messages in 7 days) or 'off'",
            field="frequency_cap",
        )
    return f"{int(m[1])}/{int(m[2])}"


def _positive_int(name: str) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        try:
            value = int(to_ascii_digits(str(raw)).strip())
        except ValueError:
            raise ValidationError(f"{raw!r} is not a whole number", field=name) from None
        if value < 1:
            raise ValidationError("must be at least 1", field=name)
        return value

    return parse


def _bool(name: str) -> Callable[[Any], bool]:
    def parse(raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on", "بله"):
            return True
        if text in ("0", "false", "no", "off", "خیر"):
            return False
        raise ValidationError(f"{raw!r} is not yes/no", field=name)

    return parse


def _language(raw: Any) -> str:
    if raw not in LANGUAGES:
        raise ValidationError(
            f"{raw!r} is not a language ({', '.join(LANGUAGES)})", field="default_language"
        )
    return str(raw)


def _keywords(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    words = [normalize(str(w)) for w in items if normalize(str(w))]
    if not words:
        raise ValidationError(
            "give at least one keyword (comma separated)", field="opt_out_keywords"
        )
    return words


def _text(raw: Any) -> str:
    return str(raw).strip()


def _env_ref(name: str) -> Callable[[Any], str]:
    """Secrets are named, never stored: ``env:NAME`` reads the environment variable NAME."""

    def parse(raw: Any) -> str:
        text = str(raw).strip()
        if text.lower() in ("", "off", "none"):
            return ""
        if not re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]*", text):
            raise ValidationError(
                "give the environment variable holding it, like env:CRM_BOT_TOKEN "
                "(the secret itself is never stored)",
                field=name,
            )
        return text

    return parse


def _base_url(raw: Any) -> str:
    text = str(raw).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValidationError(
            f"{raw!r} is not a base URL like https://api.telegram.org", field="chat_api_url"
        )
    return text


@attrs.frozen
class SettingSpec:
    default: Any
    parse: Callable[[Any], Any]
    help: str


SPECS: dict[str, SettingSpec] = {
    "quiet_hours": SettingSpec(
        "22:00-08:00", _hours, "local hours with no promotional SMS (22:00-08:00, or off)"
    ),
    "frequency_cap": SettingSpec(
        "3/7", _cap, "at most N promotional messages per customer in D days (N/D, or off)"
    ),
    "default_language": SettingSpec(
        "fa", _language, "language of customers without the 'language' attribute"
    ),
    "max_attempts": SettingSpec(
        5, _positive_int("max_attempts"), "provider attempts before a message fails"
    ),
    "retry_base_seconds": SettingSpec(
        60,
        _positive_int("retry_base_seconds"),
        "first retry delay; doubles after each failed attempt",
    ),
    "send_after_commit": SettingSpec(
        True,
        _bool("send_after_commit"),
        "send right after the command commits (else only `crm jobs run` sends)",
    ),
    "thank_you_max_age_hours": SettingSpec(
        48,
        _positive_int("thank_you_max_age_hours"),
        "older purchases (imported history) get no thank-you",
    ),
    "opt_out_keywords": SettingSpec(
        ["لغو", "انصراف", "stop", "unsubscribe"],
        _keywords,
        "inbound SMS words that opt the sender out of SMS",
    ),
    "stale_sending_minutes": SettingSpec(
        15,
        _positive_int("stale_sending_minutes"),
        "a message 'sending' longer than this is marked unknown, never resent",
    ),
    "survey_base_url": SettingSpec(
        "",
        _text,
        "base of survey links only when surveys has no link template "
        "(crm surveys settings --link-template)",
    ),
    "webhook_token": SettingSpec("", _text, "secret the provider callbacks must carry as ?token=…"),
    "chat_bot_token": SettingSpec(
        "",
        _env_ref("chat_bot_token"),
        "the chat bot's token as env:NAME (Telegram's BotFather, Bale's)",
    ),
    "chat_api_url": SettingSpec(
        "https://api.telegram.org",
        _base_url,
        "the bot API: https://api.telegram.org, or https://tapi.bale.ai",
    ),
    "chat_webhook_secret": SettingSpec(
        "",
        _env_ref("chat_webhook_secret"),
        "env:NAME of the secret the bot API sends with each update",
    ),
}


def get_settings(uow) -> dict[str, Any]:
    cache = uow.cache.setdefault("messaging", {})
    if "settings" not in cache:
        values = {k: s.default for k, s in SPECS.items()}
        for row in uow.session.query(SettingValue).all():
            if row.key in SPECS:
                values[row.key] = row.value
        cache["settings"] = values
    return cache["settings"]


def set_setting(uow, key: str, raw: Any) -> Any:
    spec = SPECS.get(key)
    if spec is None:
        raise ValidationError(
            f"unknown setting {key!r} (known: {', '.join(SPECS)})", field="setting"
        )
    value = spec.parse(raw)
    row = uow.session.get(SettingValue, key)
    if row is None:
        uow.session.add(SettingValue(key=key, value=value))
    else:
        row.value = value
    uow.session.flush()
    uow.cache.get("messaging", {}).pop("settings", None)
    uow.audit("setting", "messaging_setting", key, {"value": value})
    return value


def quiet_window(settings: dict[str, Any]) -> tuple[time, time] | None:
    value = settings["quiet_hours"]
    if value == "off":
        return None
    start, end = value.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def frequency_cap(settings: dict[str, Any]) -> tuple[int, int] | None:
    value = settings["frequency_cap"]
    if value == "off":
        return None
    n, d = value.split("/")
    return int(n), int(d)
