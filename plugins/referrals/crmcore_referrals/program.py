"""The referral program: rules in TOML, validated, stored as numbered versions like loyalty's programs.

    [program]
    name = "معرفی دوستان"
    levels = 1                  # referrers rewarded up the chain: 1 (default), 2 for multi-level, at most 3
    attach_window_days = 14     # staff may attach a referral this many days after the friend joined
    max_friends_per_device = 3  # friends sharing one device fingerprint of the web form
    share_link = "https://shop.ir/forms/lead?ref={code}"   # optional: the link in the share text

    [qualify]
    event = "first_purchase"    # the friend's first purchase of at least min_amount, or
    min_amount = "500000"       # "spend": purchases reaching min_amount within within_days of joining
    currency = "IRR"
    within_days = 30

    [rewards]
    referrer = [1000, 200]      # points per level; level 1 is the direct referrer
    friend = 500                # points to the friend
    monthly_cap = 20            # rewarded friends per referrer per Jalali month (0: no cap)

Amounts are in the currency's major unit (rials for IRR, dollars for USD); they are kept in minor units.
"""

from __future__ import annotations

import hashlib
import tomllib
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import func, select

from crmcore.api import ValidationError, currency_exponent, parse_money

from .models import ReferralProgram

MAX_LEVELS = 3
EVENTS = ("first_purchase", "spend")


@attrs.frozen
class Program:
    version: int = 0
    name: str = "referrals"
    levels: int = 1
    attach_window_days: int = 14
    max_friends_per_device: int = 3
    event: str = "first_purchase"
    min_amount_minor: int = 0
    currency: str = "IRR"
    within_days: int = 30
    referrer_points: tuple[int, ...] = (0,)
    friend_points: int = 0
    monthly_cap: int = 0
    share_link: str = ""

    def referrer_reward(self, level: int) -> int:
        return self.referrer_points[level - 1] if level <= len(self.referrer_points) else 0

    def min_amount(self) -> Decimal:
        return Decimal(self.min_amount_minor).scaleb(-currency_exponent(self.currency))

    def config(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "levels": self.levels,
            "attach_window_days": self.attach_window_days,
            "max_friends_per_device": self.max_friends_per_device,
            "share_link": self.share_link,
            "qualify": {
                "event": self.event,
                "min_amount": str(self.min_amount()),
                "currency": self.currency,
                "within_days": self.within_days,
            },
            "rewards": {
                "referrer": list(self.referrer_points),
                "friend": self.friend_points,
                "monthly_cap": self.monthly_cap,
            },
        }


DEFAULT = Program()


def _whole(section: dict, key: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    value = section.get(key, default)
    field = key
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{key} must be a whole number, got {value!r}", field=field)
    if value < low:
        raise ValidationError(f"{key} must be at least {low}, got {value}", field=field)
    if high is not None and value > high:
        raise ValidationError(f"{key} must be at most {high}, got {value}", field=field)
    return value


def parse(text: str, *, version: int = 0) -> Program:
    """Validate program text; every mistake is a one-line :class:`ValidationError` naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"the program is not valid TOML: {exc}", field="program") from None
    unknown = set(data) - {"program", "qualify", "rewards"}
    if unknown:
        raise ValidationError(f"unknown section [{sorted(unknown)[0]}]", field="program")
    prog, qualify, rewards = (data.get(k, {}) for k in ("program", "qualify", "rewards"))
    for name, section, keys in (
        (
            "program",
            prog,
            {"name", "levels", "attach_window_days", "max_friends_per_device", "share_link"},
        ),
        ("qualify", qualify, {"event", "min_amount", "currency", "within_days"}),
        ("rewards", rewards, {"referrer", "friend", "monthly_cap"}),
    ):
        if not isinstance(section, dict):
            raise ValidationError(f"[{name}] must be a table", field=name)
        extra = set(section) - keys
        if extra:
            raise ValidationError(
                f"unknown key {sorted(extra)[0]!r} in [{name}]", field=sorted(extra)[0]
            )
    levels = _whole(prog, "levels", 1, low=1, high=MAX_LEVELS)
    event = qualify.get("event", "first_purchase")
    if event not in EVENTS:
        raise ValidationError(
            f"qualify.event must be one of {', '.join(EVENTS)}, got {event!r}", field="event"
        )
    currency = str(qualify.get("currency", "IRR")).upper()
    min_amount = parse_money(str(qualify.get("min_amount", "0")), currency, field="min_amount")
    if min_amount.minor < 0:
        raise ValidationError("min_amount must not be negative", field="min_amount")
    referrer = rewards.get("referrer", [0])
    if isinstance(referrer, int) and not isinstance(referrer, bool):
        referrer = [referrer]
    if not isinstance(referrer, list) or not referrer:
        raise ValidationError(
            "rewards.referrer must be points or a list of points per level", field="referrer"
        )
    if len(referrer) > levels:
        raise ValidationError(
            f"rewards.referrer names {len(referrer)} levels but the program counts {levels}",
            field="referrer",
        )
    points = []
    for i, value in enumerate(referrer, 1):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(
                f"the referrer's reward at level {i} must be whole points ≥ 0, got {value!r}",
                field="referrer",
            )
        points.append(value)
    share_link = prog.get("share_link", "")
    if not isinstance(share_link, str) or (share_link and "{code}" not in share_link):
        raise ValidationError("share_link must be a text containing {code}", field="share_link")
    return Program(
        version=version,
        share_link=share_link,
        name=str(prog.get("name", "referrals")),
        levels=levels,
        attach_window_days=_whole(prog, "attach_window_days", 14, high=3650),
        max_friends_per_device=_whole(prog, "max_friends_per_device", 3, low=1),
        event=event,
        min_amount_minor=min_amount.minor,
        currency=currency,
        within_days=_whole(qualify, "within_days", 30, low=1, high=3650),
        referrer_points=tuple(points),
        friend_points=_whole(rewards, "friend", 0),
        monthly_cap=_whole(rewards, "monthly_cap", 0),
    )


def active(uow) -> Program:
    """The highest loaded version; :data:`DEFAULT` (track referrals, reward nothing) before any load."""
    cached = uow.cache.get("referrals.program")
    if cached is None:
        row = uow.session.scalar(
            select(ReferralProgram).order_by(ReferralProgram.version.desc()).limit(1)
        )
        cached = DEFAULT if row is None else parse(row.source, version=row.version)
        uow.cache["referrals.program"] = cached
    return cached


def version(uow, number: int) -> Program:
    """A stored version (a reward is reversed under the rules it was earned by)."""
    row = uow.session.get(ReferralProgram, number)
    if row is None:
        raise ValidationError(f"no referral program version {number}", field="version")
    return parse(row.source, version=row.version)


def load(uow, text: str, *, source_name: str | None = None) -> tuple[Program, bool]:
    """Store ``text`` as the next version; the same text as the active version changes nothing."""
    parse(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    current = uow.session.scalar(
        select(ReferralProgram).order_by(ReferralProgram.version.desc()).limit(1)
    )
    if current is not None and current.sha256 == digest:
        return parse(current.source, version=current.version), False
    version = (uow.session.scalar(select(func.max(ReferralProgram.version))) or 0) + 1
    program = parse(text, version=version)
    uow.session.add(
        ReferralProgram(
            version=version,
            name=program.name,
            source=text,
            source_name=source_name,
            sha256=digest,
            loaded_at=uow.now(),
            loaded_by=uow.actor,
        )
    )
    uow.cache.pop("referrals.program", None)
    uow.audit("load", "referrals_program", str(version), {"source": source_name, "sha256": digest})
    return program, True
