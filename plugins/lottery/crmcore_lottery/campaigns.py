"""Campaigns: create one (rules recorded before any entry), add prizes while it is open, find and show them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crmcore.api import (
    Conflict,
    Money,
    NotFound,
    ValidationError,
    format_datetime,
    jalali_month_bounds,
    jalali_year_bounds,
    parse_date,
    parse_money,
    search_fields,
    to_ascii_digits,
    where_conditions,
)

from . import proof
from .models import LotteryCampaign, LotteryEntry, LotteryPrize

DEFAULT_STAFF_TAGS = ("staff",)


# -- reading the entry window -------------------------------------------------------------------------------
def _local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


def period_window(period: str, tz: str) -> tuple[datetime, datetime]:
    """``1403`` (a Jalali year), ``1403-07`` (a Jalali month), ``2025`` or ``2025-03`` (Gregorian): the UTC
    moments of local midnight at its first day and after its last day."""
    text = to_ascii_digits(str(period or "")).strip().replace("/", "-")
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2) or not 1 <= (numbers[1] if len(numbers) == 2 else 1) <= 12:
        raise ValidationError(
            f"{period!r} is not a period (a year such as 1403 or 2025, or a month such as "
            "1403-07 or 2025-03)",
            field="period",
        )
    year = numbers[0]
    if year < 1700:
        first, after = (
            jalali_year_bounds(year) if len(numbers) == 1 else jalali_month_bounds(year, numbers[1])
        )
    elif len(numbers) == 1:
        first, after = date(year, 1, 1), date(year + 1, 1, 1)
    else:
        month = numbers[1]
        first = date(year, month, 1)
        after = date(year + (month == 12), month % 12 + 1, 1)
    return _local_midnight(first, tz), _local_midnight(after, tz)


def entry_window(
    *, period: str | None, start: str | None, end: str | None, tz: str
) -> tuple[datetime, datetime]:
    """The window from ``--period`` or from ``--from``/``--to`` (dates in either calendar, ``--to`` included)."""
    if period and (start or end):
        raise ValidationError(
            "give the entry window either as --period or as --from/--to, not both", field="period"
        )
    if period:
        return period_window(period, tz)
    if not (start and end):
        raise ValidationError(
            "an entry window is needed: --period 1403, or --from and --to", field="from"
        )
    lo = _local_midnight(parse_date(start, field="from"), tz)
    hi = _local_midnight(parse_date(end, field="to") + timedelta(days=1), tz)
    if hi <= lo:
        raise ValidationError(f"--to ({end}) is before --from ({start})", field="to")
    return lo, hi


# -- creating -----------------------------------------------------------------------------------------------
def _positive(value: Any, field: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} is a whole number, not {value!r}", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(
            f"{field} must be {'zero or more' if allow_zero else 'positive'}, not {value}",
            field=field,
        )
    return value


def check_prize(prize: dict[str, Any], index: int) -> dict[str, Any]:
    name = str(prize.get("name") or "").strip()
    if not name:
        raise ValidationError(f"prize {index}: a name is required", field="prize")
    quantity = _positive(prize.get("quantity", 1), f"prize {index} ({name}) quantity")
    stock = prize.get("stock")
    stock = (
        quantity
        if stock is None
        else _positive(stock, f"prize {index} ({name}) stock", allow_zero=True)
    )
    return {
        "name": name,
        "name_fa": (prize.get("name_fa") or None),
        "quantity": quantity,
        "stock": stock,
    }


def parse_prize(text: str) -> dict[str, Any]:
    """``"NAME=QUANTITY"`` or ``"NAME=QUANTITY/STOCK"`` (digits in either script), e.g. ``"سکه طلا=3/2"``."""
    name, sep, numbers = (text or "").rpartition("=")
    if not sep or not name.strip():
        raise ValidationError(
            f"{text!r} is not a prize (NAME=QUANTITY or NAME=QUANTITY/STOCK)", field="prize"
        )
    quantity, _, stock = to_ascii_digits(numbers).strip().partition("/")
    try:
        return {
            "name": name.strip(),
            "quantity": int(quantity),
            "stock": int(stock) if stock else None,
        }
    except ValueError:
        raise ValidationError(
            f"{text!r}: quantity and stock are whole numbers", field="prize"
        ) from None


def tier_clause(min_tier: str) -> str:
    return f"tier>={min_tier}"


def check_eligibility(uow, where: list[str], min_tier: str | None) -> None:
    """Parse the segment clauses and the tier condition now, so a typo is refused before any entry."""
    where_conditions(uow, list(where))
    if min_tier:
        if "tier" not in search_fields(uow):
            raise ValidationError(
                "a minimum tier needs the tiers plugin (no 'tier' search field is "
                "installed); use --where clauses instead",
                field="min_tier",
            )
        try:
            where_conditions(uow, [tier_clause(min_tier)])
        except ValidationError as exc:
            raise ValidationError(f"minimum tier {min_tier!r}: {exc}", field="min_tier") from None


def create_campaign(
    uow,
    *,
    name: str,
    title: str,
    rules_text: str,
    entry_start: datetime,
    entry_end: datetime,
    draw_at: datetime | None = None,
    title_fa: str | None = None,
    currency: str = "IRR",
    per_purchase: int = 0,
    per_amount: str | int | None = None,
    points_per_entry: int | None = None,
    where: list[str] = (),
    min_tier: str | None = None,
    staff_tags: list[str] = DEFAULT_STAFF_TAGS,
    min_entries: int = 1,
    one_prize_per_person: bool = True,
    exclude_recent_winners: int = 0,
    prizes: list[dict[str, Any]] = (),
) -> LotteryCampaign:
    name = (name or "").strip()
    if not proof.NAME.match(name):
        raise ValidationError(
            f"campaign name {name!r}: up to 60 letters, digits, '-' or '_', no spaces or ':'",
            field="name",
        )
    if (
        uow.session.scalar(select(LotteryCampaign.id).where(LotteryCampaign.name == name))
        is not None
    ):
        raise Conflict(f"a campaign named {name!r} already exists", field="name")
    if not (title or "").strip():
        raise ValidationError("a title is required", field="title")
    rules_text = (rules_text or "").strip()
    if not rules_text:
        raise ValidationError(
            "the official rules text is required: it is recorded before entries open", field="rules"
        )
    if entry_end <= entry_start:
        raise ValidationError("the entry window ends before it starts", field="to")
    draw_at = draw_at or entry_end
    if draw_at < entry_end:
        raise ValidationError(
            f"the draw ({format_datetime(draw_at)}) is before entries close "
            f"({format_datetime(entry_end)})",
            field="draw_at",
        )
    currency = (currency or "IRR").strip().upper()
    per_purchase = _positive(per_purchase, "per_purchase", allow_zero=True)
    amount = None
    if per_amount is not None:
        amount = parse_money(per_amount, currency, field="per_amount").minor
        if amount <= 0:
            raise ValidationError("per_amount must be positive", field="per_amount")
    if points_per_entry is not None:
        _positive(points_per_entry, "points_per_entry")
        if not uow.has_plugin("loyalty"):
            raise ValidationError(
                "entries bought with points need the loyalty plugin, which is not enabled",
                field="points_per_entry",
            )
    check_eligibility(uow, list(where), min_tier)
    _positive(min_entries, "min_entries")
    _positive(exclude_recent_winners, "exclude_recent_winners", allow_zero=True)
    checked = [check_prize(p, i) for i, p in enumerate(prizes, 1)]
    tags = sorted({t.strip() for t in staff_tags if t and t.strip()})
    now = uow.now()
    campaign = LotteryCampaign(
        name=name,
        title=title.strip(),
        title_fa=(title_fa or "").strip() or None,
        rules_text=rules_text,
        rules_sha256=proof.sha256_hex(rules_text),
        status="open",
        entry_start=entry_start,
        entry_end=entry_end,
        draw_at=draw_at,
        currency=currency,
        per_purchase=per_purchase,
        per_amount=amount,
        points_per_entry=points_per_entry,
        where_clauses=list(where),
        min_tier=min_tier or None,
        staff_tags=tags,
        min_entries=min_entries,
        one_prize_per_person=one_prize_per_person,
        exclude_recent_winners=exclude_recent_winners,
        created_at=now,
        created_by=uow.actor,
        close_summary={},
    )
    uow.session.add(campaign)
    uow.session.flush()
    for rank, p in enumerate(checked, 1):
        uow.session.add(LotteryPrize(campaign_id=campaign.id, rank=rank, awarded=0, **p))
    uow.session.flush()
    uow.session.refresh(campaign, ["prizes"])
    uow.audit(
        "create",
        "lottery_campaign",
        campaign.id,
        {"name": name, "rules_sha256": campaign.rules_sha256},
    )
    uow.cache.pop("lottery.open", None)
    return campaign


def add_prize(
    uow,
    campaign: LotteryCampaign,
    *,
    name: str,
    quantity: int = 1,
    stock: int | None = None,
    name_fa: str | None = None,
) -> LotteryPrize:
    if campaign.status != "open":
        raise Conflict(
            f"campaign {campaign.name!r} is {campaign.status}: its prizes are frozen",
            field="campaign",
        )
    rank = len(campaign.prizes) + 1
    checked = check_prize(
        {"name": name, "quantity": quantity, "stock": stock, "name_fa": name_fa}, rank
    )
    prize = LotteryPrize(campaign_id=campaign.id, rank=rank, awarded=0, **checked)
    uow.session.add(prize)
    uow.session.flush()
    uow.session.refresh(campaign, ["prizes"])
    uow.audit("add_prize", "lottery_campaign", campaign.id, {"prize": checked})
    return prize


# -- finding ------------------------------------------------------------------------------------------------
def get_campaign(uow, ref: str | int, *, lock: bool = False) -> LotteryCampaign:
    """A campaign by name or id; ``lock`` holds its row for this transaction (close, draw and entries)."""
    text = to_ascii_digits(str(ref or "")).strip()
    queries = [select(LotteryCampaign).where(LotteryCampaign.name == text)]
    if text.isdigit():  # a name wins over an id
        queries.append(select(LotteryCampaign).where(LotteryCampaign.id == int(text)))
    campaign = None
    for q in queries:
        campaign = uow.session.scalar(q.with_for_update() if lock else q)
        if campaign is not None:
            break
    if campaign is None:
        raise NotFound(f"no lottery campaign {ref!r}", field="campaign")
    return campaign


def list_campaigns(uow, status: str | None = None) -> list[LotteryCampaign]:
    q = select(LotteryCampaign).order_by(LotteryCampaign.entry_start, LotteryCampaign.id)
    if status:
        q = q.where(LotteryCampaign.status == status)
    return list(uow.session.scalars(q))


def entry_totals(uow, campaign_id: int) -> tuple[int, int]:
    """(participants with entries, total entries) of a campaign so far."""
    from .entries import drain

    drain(uow)
    row = uow.session.execute(
        select(
            func.count(func.distinct(LotteryEntry.customer_id)),
            func.coalesce(func.sum(LotteryEntry.weight), 0),
        ).where(LotteryEntry.campaign_id == campaign_id, LotteryEntry.weight > 0)
    ).one()
    return int(row[0]), int(row[1])


def draw_spec(campaign: LotteryCampaign) -> proof.DrawSpec:
    return proof.DrawSpec(
        campaign.name,
        campaign.rules_sha256,
        campaign.one_prize_per_person,
        tuple((p.rank, p.slots or 0) for p in campaign.prizes),
    )


def per_amount_major(campaign: LotteryCampaign) -> str | None:
    """The per-amount step in the currency's major unit (``"50.00"`` for 5000 cents), as typed."""
    if campaign.per_amount is None:
        return None
    return str(Money(campaign.per_amount, campaign.currency).amount)


def prize_to_dict(prize: LotteryPrize) -> dict[str, Any]:
    return {
        "rank": prize.rank,
        "name": prize.name,
        "name_fa": prize.name_fa,
        "quantity": prize.quantity,
        "stock": prize.stock,
        "slots": prize.slots,
        "awarded": prize.awarded,
    }


def campaign_to_dict(
    uow,
    campaign: LotteryCampaign,
    *,
    calendar: str = "gregorian",
    tz: str = "Asia/Tehran",
    with_rules: bool = False,
) -> dict[str, Any]:
    participants, entries = entry_totals(uow, campaign.id)
    last_moment = campaign.entry_end - timedelta(seconds=1)  # the window is half-open
    out = {
        "id": campaign.id,
        "name": campaign.name,
        "title": campaign.title,
        "title_fa": campaign.title_fa,
        "status": campaign.status,
        "entries_from": format_datetime(campaign.entry_start, calendar, tz=tz),
        "entries_until": format_datetime(last_moment, calendar, tz=tz),
        "draw_at": format_datetime(campaign.draw_at, calendar, tz=tz),
        "entry_start_utc": campaign.entry_start.isoformat(),
        "entry_end_utc": campaign.entry_end.isoformat(),
        "earning": {
            "currency": campaign.currency,
            "per_purchase": campaign.per_purchase,
            "per_amount": per_amount_major(campaign),
            "per_amount_minor": campaign.per_amount,
            "points_per_entry": campaign.points_per_entry,
        },
        "eligibility": {
            "where": list(campaign.where_clauses or []),
            "min_tier": campaign.min_tier,
            "staff_tags": list(campaign.staff_tags or []),
            "min_entries": campaign.min_entries,
            "one_prize_per_person": campaign.one_prize_per_person,
            "exclude_winners_of_last_draws": campaign.exclude_recent_winners,
        },
        "prizes": [prize_to_dict(p) for p in campaign.prizes],
        "participants": participants,
        "entries": entries,
        "rules_sha256": campaign.rules_sha256,
        "closed_at": format_datetime(campaign.closed_at, calendar, tz=tz) or None,
        "list_sha256": campaign.list_sha256,
        "seed_commitment": campaign.seed_commitment,
        "seed": campaign.seed if campaign.status == "drawn" else None,
        "drawn_at": format_datetime(campaign.drawn_at, calendar, tz=tz) or None,
        "close_summary": campaign.close_summary or {},
    }
    if with_rules:
        out["rules"] = campaign.rules_text
    return out
