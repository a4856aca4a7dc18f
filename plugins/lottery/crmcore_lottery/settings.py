"""The lottery's settings (the kernel's settings, namespace ``lottery``)."""

from __future__ import annotations

import re
from datetime import timedelta

from crmcore.api import ValidationError, get_setting, set_setting, to_ascii_digits

#: the draw waits at least this long after a campaign closes, so its hashes are published first
DEFAULT_GAP_MINUTES = 60
UNITS = {"m": 1, "h": 60, "d": 1440}


def min_draw_gap(uow) -> timedelta:
    return timedelta(
        minutes=int(get_setting(uow, "lottery", "min_draw_gap_minutes", DEFAULT_GAP_MINUTES))
    )


def parse_gap(text: str) -> int:
    """``45m``, ``24h``, ``2d`` or ``0`` → minutes."""
    raw = to_ascii_digits(str(text or "")).strip().lower()
    match = re.fullmatch(r"(\d{1,6})\s*([mhd]?)", raw)
    if match is None:
        raise ValidationError(
            f"{text!r} is not a gap: give minutes, hours or days such as 45m, 24h, 2d",
            field="min_draw_gap",
        )
    minutes = int(match.group(1)) * UNITS[match.group(2) or "m"]
    if minutes > 366 * 1440:
        raise ValidationError("the minimum gap is at most a year", field="min_draw_gap")
    return minutes


def set_min_draw_gap(uow, text: str) -> int:
    minutes = parse_gap(text)
    set_setting(uow, "lottery", "min_draw_gap_minutes", minutes)
    return minutes


def gap_text(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440} day" + ("s" if minutes // 1440 != 1 else "")
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("s" if minutes // 60 != 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def all_settings(uow) -> dict:
    gap = min_draw_gap(uow)
    return {"min_draw_gap_minutes": int(gap.total_seconds() // 60), "min_draw_gap": gap_text(gap)}
