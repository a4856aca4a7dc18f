"""Recurrence with iCalendar RRULE semantics (RFC 5545), evaluated by python-dateutil in local wall time.

Rules are checked strictly before they are stored (known parts, values in range, at least one occurrence
within ten years), because some malformed rules would make dateutil search for centuries or forever.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import vRecur

from crmcore.api import ValidationError

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
SHORTCUTS = {
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
    "روزانه": "FREQ=DAILY",
    "هفتگی": "FREQ=WEEKLY",
    "ماهانه": "FREQ=MONTHLY",
    "سالانه": "FREQ=YEARLY",
}
_RANGES = {
    "INTERVAL": (1, 999),
    "COUNT": (1, 10000),
    "BYMONTH": (1, 12),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
    "BYSETPOS": (-366, 366),
    "BYHOUR": (0, 23),
    "BYMINUTE": (0, 59),
}
_SIGNED = {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}
_WEEKDAY = re.compile(r"^[+-]?(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_ALLOWED = set(_RANGES) | {"FREQ", "UNTIL", "BYDAY", "WKST"}
PROBE_YEARS = 10


def _bad(rule: str, why: str, field: str) -> ValidationError:
    return ValidationError(f"recurrence rule {rule!r} {why}", field=field)


def normalize_rule(raw: str, *, tz: str, field: str = "rrule") -> str:
    """Check a rule (``FREQ=WEEKLY;BYDAY=SA,MO``, ``RRULE:…``, or ``weekly``/``هفتگی``) and return it in
    canonical form with UNTIL in UTC. Raises a ValidationError saying what is wrong."""
    text = str(raw or "").strip()
    text = SHORTCUTS.get(text.lower(), text)
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise ValidationError("the recurrence rule is empty", field=field)
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        name, sep, value = piece.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise _bad(raw, f"has {piece!r}, which is not NAME=VALUE", field)
        if name not in _ALLOWED:
            raise _bad(raw, f"has an unknown or unsupported part {name!r}", field)
        if name in parts:
            raise _bad(raw, f"gives {name} twice", field)
        parts[name] = value.strip().upper()
    if parts.get("FREQ") not in FREQUENCIES:
        raise _bad(raw, f"needs FREQ={'|'.join(FREQUENCIES)}", field)
    if "COUNT" in parts and "UNTIL" in parts:
        raise _bad(raw, "gives both COUNT and UNTIL (RFC 5545 allows one)", field)
    for name, (lo, hi) in _RANGES.items():
        if name not in parts:
            continue
        for item in parts[name].split(","):
            if not re.fullmatch(r"[+-]?\d+" if name in _SIGNED else r"\d+", item):
                raise _bad(raw, f"has {name}={parts[name]}; {item!r} is not a whole number", field)
            value = int(item)
            if not lo <= value <= hi or (name in _SIGNED and value == 0):
                raise _bad(raw, f"has {name}={item}, outside {lo}..{hi}", field)
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            m = _WEEKDAY.match(item)
            if not m or (m.group(1) and not 1 <= int(m.group(1)) <= 53):
                raise _bad(raw, f"has BYDAY item {item!r} (expected MO, TU…, or 1MO, -1FR)", field)
    _check_combinations(parts, raw, field)
    if "WKST" in parts and parts["WKST"] not in ("MO", "TU", "WE", "TH", "FR", "SA", "SU"):
        raise _bad(raw, f"has WKST={parts['WKST']}", field)
    if "UNTIL" in parts:
        parts["UNTIL"] = _until_utc(parts["UNTIL"], tz, raw, field)
    try:
        canonical = (
            vRecur.from_ical(";".join(f"{k}={v}" for k, v in parts.items())).to_ical().decode()
        )
    except (ValueError, TypeError) as exc:
        raise _bad(raw, f"does not parse ({exc})", field) from None
    return canonical


_MONTH_DAYS = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}


def _check_combinations(parts: dict[str, str], raw: str, field: str) -> None:
    """Refuse combinations RFC 5545 forbids or that can never happen: dateutil would otherwise search up to
    the year 9999 for an occurrence (seconds of CPU) before giving up."""
    freq = parts["FREQ"]
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise _bad(raw, "uses BYWEEKNO, which RFC 5545 allows only with FREQ=YEARLY", field)
    if "BYYEARDAY" in parts and freq != "YEARLY":
        raise _bad(raw, "uses BYYEARDAY, which this plugin allows only with FREQ=YEARLY", field)
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise _bad(raw, "uses BYMONTHDAY, which RFC 5545 does not allow with FREQ=WEEKLY", field)
    if "BYSETPOS" in parts and (freq == "DAILY" or not ({"BYDAY", "BYMONTHDAY"} & set(parts))):
        raise _bad(
            raw,
            "uses BYSETPOS, which needs FREQ=WEEKLY/MONTHLY/YEARLY and BYDAY or BYMONTHDAY",
            field,
        )
    if "BYMONTHDAY" in parts and "BYMONTH" in parts:
        days = [abs(int(d)) for d in parts["BYMONTHDAY"].split(",")]
        months = [int(m) for m in parts["BYMONTH"].split(",")]
        if not any(d <= _MONTH_DAYS[m] for d in days for m in months):
            raise _bad(
                raw,
                f"asks for day {parts['BYMONTHDAY']} of month {parts['BYMONTH']}, which never exists",
                field,
            )


def _until_utc(value: str, tz: str, raw: str, field: str) -> str:
    """UNTIL as UTC ``YYYYMMDDTHHMMSSZ``; a date or local time is read in ``tz`` (end of that day for a date)."""
    try:
        if re.fullmatch(r"\d{8}", value):
            day = datetime.strptime(value, "%Y%m%d").date()
            moment = datetime.combine(
                day + timedelta(days=1), datetime.min.time(), ZoneInfo(tz)
            ) - timedelta(seconds=1)
        elif re.fullmatch(r"\d{8}T\d{6}Z", value):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        elif re.fullmatch(r"\d{8}T\d{6}", value):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(tz))
        else:
            raise ValueError(value)
    except ValueError:
        raise _bad(
            raw, f"has UNTIL={value}, which is not a date (YYYYMMDD or YYYYMMDDTHHMMSSZ)", field
        ) from None
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def build(
    rule: str, series_start: datetime, tz: str, exdates: Iterable[str | datetime] = ()
) -> rruleset:
    """The occurrences of a stored rule from ``series_start`` (expanded in local wall time of ``tz``)."""
    start_local = series_start.astimezone(ZoneInfo(tz))
    rset = rruleset()
    rset.rrule(rrulestr(rule, dtstart=start_local))
    for ex in exdates:
        moment = datetime.fromisoformat(ex) if isinstance(ex, str) else ex
        rset.exdate(moment.astimezone(ZoneInfo(tz)))
    return rset


def check_has_occurrence(
    rule: str, series_start: datetime, tz: str, *, field: str = "rrule"
) -> datetime:
    """The first occurrence at or after ``series_start``; refuses a rule with none in the next ten years."""
    horizon = series_start + timedelta(days=366 * PROBE_YEARS)
    probe_parts = [p for p in rule.split(";") if not p.startswith(("COUNT=", "UNTIL="))]
    until = re.search(r"UNTIL=(\d{8}T\d{6}Z)", rule)
    end = horizon
    if until:
        end = min(
            horizon,
            datetime.strptime(until.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc),
        )
    probe_parts.append("UNTIL=" + end.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    first = build(";".join(probe_parts), series_start, tz).after(
        series_start.astimezone(ZoneInfo(tz)), inc=True
    )
    if first is None:
        raise ValidationError(
            f"recurrence rule {rule!r} has no occurrence from "
            f"{series_start.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} on",
            field=field,
        )
    return first.astimezone(timezone.utc)


def next_occurrence(
    rule: str,
    series_start: datetime,
    tz: str,
    after: datetime,
    exdates: Iterable[str | datetime] = (),
) -> datetime | None:
    """The first occurrence strictly after ``after`` (UTC), or None when the series has ended."""
    found = build(rule, series_start, tz, exdates).after(after.astimezone(ZoneInfo(tz)), inc=False)
    return None if found is None else found.astimezone(timezone.utc)


def occurrences_between(
    rule: str,
    series_start: datetime,
    tz: str,
    start: datetime,
    end: datetime,
    exdates: Iterable[str | datetime] = (),
) -> list[datetime]:
    """Occurrences in ``[start, end)`` (UTC), e.g. for an agenda of a day."""
    zone = ZoneInfo(tz)
    found = build(rule, series_start, tz, exdates).between(
        start.astimezone(zone), end.astimezone(zone), inc=True
    )
    return [f.astimezone(timezone.utc) for f in found if f < end]


def describe(rule: str) -> str:
    """A short readable form for listings: ``weekly on SA,MO ×4``."""
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    text = parts["FREQ"].lower()
    if parts.get("INTERVAL", "1") != "1":
        text = (
            f"every {parts['INTERVAL']} "
            + {"daily": "days", "weekly": "weeks", "monthly": "months", "yearly": "years"}[text]
        )
    if "BYDAY" in parts:
        text += f" on {parts['BYDAY']}"
    if "BYMONTHDAY" in parts:
        text += f" on day {parts['BYMONTHDAY']}"
    if "COUNT" in parts:
        text += f" ×{parts['COUNT']}"
    if "UNTIL" in parts:
        text += f" until {parts['UNTIL'][:8]}"
    return text


def as_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()
