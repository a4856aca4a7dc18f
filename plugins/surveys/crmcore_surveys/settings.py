"""Plugin-wide settings of surveys, stored in ``surveys_settings``."""

from __future__ import annotations

from typing import Any

from crmcore.api import ValidationError

from .models import SurveySetting

DEFAULTS: dict[str, Any] = {
    #: never invite the same customer more than once in this many days, across all surveys (0: no limit)
    "fatigue_days": 30,
    #: events older than this when recorded (imports of history) trigger no survey
    "max_event_age_days": 7,
    #: the survey link; ``{token}`` is replaced by the invitation's token
    "link_template": None,
}


def get_setting(uow, key: str) -> Any:
    if key not in DEFAULTS:
        raise ValidationError(
            f"unknown surveys setting {key!r} (known: {', '.join(DEFAULTS)})", field="setting"
        )
    cache = uow.cache.setdefault("surveys.settings", {})
    if key not in cache:
        row = uow.session.get(SurveySetting, key)
        cache[key] = DEFAULTS[key] if row is None else row.value
    return cache[key]


def set_setting(uow, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise ValidationError(
            f"unknown surveys setting {key!r} (known: {', '.join(DEFAULTS)})", field="setting"
        )
    if key in ("fatigue_days", "max_event_age_days"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
            raise ValidationError(f"{key} is a number of days between 0 and 3650", field=key)
    if key == "link_template" and value is not None and "{token}" not in str(value):
        raise ValidationError(
            "the link template must contain {token}, e.g. https://shop.ir/s/{token}", field=key
        )
    row = uow.session.get(SurveySetting, key)
    if row is None:
        uow.session.add(SurveySetting(key=key, value=value))
    else:
        row.value = value
    uow.cache.setdefault("surveys.settings", {})[key] = value
    uow.audit("set", "surveys_setting", key, {"value": value})


def all_settings(uow) -> dict[str, Any]:
    return {k: get_setting(uow, k) for k in DEFAULTS}


def survey_link(uow, token: str) -> str | None:
    template = get_setting(uow, "link_template")
    return template.replace("{token}", token) if template else None
