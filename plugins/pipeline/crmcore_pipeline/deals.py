"""Deals: create, move through stages (with history), update, win, lose, reopen, log activities.

Every stage change writes a :class:`StageHistory` row and emits ``pipeline_deal_stage_changed``; winning and
losing then emit ``pipeline_deal_won`` / ``pipeline_deal_lost``. All functions take the unit of work first and
raise :class:`ValidationError` / :class:`NotFound` / :class:`Conflict` naming the field; the caller's unit of
work rolls everything back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from crmcore.api import (
    Conflict,
    Customer,
    Money,
    NotFound,
    ValidationError,
    assignee_clause,
    check_assignee,
    currency_exponent,
    format_date,
    resolve_customer,
)

from . import notices
from .catalog import (
    closing_stage,
    find_stage,
    first_open_stage,
    get_pipeline,
    get_reason,
    get_source,
)
from .models import DEAL_STATUSES, Deal, DealActivity, Lead, SalesRep, Stage, StageHistory
from .reps import choose_owner, get_rep
from .values import optional_text, parse_amount, parse_name, parse_optional_date, parse_probability

ACTIVITY_KINDS = ("note", "call", "meeting", "email", "message", "visit")


def weighted_minor(amount_times_percent: int) -> int:
    """``sum(amount × probability%)`` to minor units, rounded half up (amounts are never negative)."""
    return (amount_times_percent + 50) // 100


def get_deal(uow, deal_id: int | str, *, lock: bool = False, access: str = "read") -> Deal:
    """The deal, if the acting user may ``access`` it: deals follow their rep (the kernel's record
    rules)."""
    try:
        did = int(str(deal_id).strip())
    except ValueError:
        raise NotFound(f"{deal_id!r} is not a deal id", field="deal") from None
    q = select(Deal).where(Deal.id == did)
    if lock:
        q = q.with_for_update()
    deal = uow.session.scalar(q)
    if deal is None:
        raise NotFound(f"no deal with id {did}", field="deal")
    check_assignee(
        uow, access, deal.owner.username.lower() if deal.owner else None, f"deal {deal.id}"
    )
    return deal


def readable_deals(uow):
    """A clause over deals outer-joined to their rep (``SalesRep``) selecting those the acting user
    may read; ``None`` when they may read all."""
    return assignee_clause(uow, "read", func.lower(SalesRep.username))


def _customer(uow, customer: Customer | int | str) -> Customer:
    if isinstance(customer, Customer):
        return customer
    if customer in (None, ""):
        raise ValidationError("a deal needs a customer", field="customer")
    return resolve_customer(uow.session, customer)


def _event_data(deal: Deal, **extra: Any) -> dict[str, Any]:
    return {
        "deal_id": deal.id,
        "title": deal.title,
        "pipeline": deal.pipeline.code,
        "stage": deal.stage.code,
        "status": deal.status,
        "amount": None if deal.amount_minor is None else str(deal.money.amount),
        "currency": deal.currency,
        "owner": deal.owner.username if deal.owner else None,
        **extra,
    }


def _enter_stage(uow, deal: Deal, stage: Stage, note: str | None, *, first: bool = False) -> None:
    old = None if first else deal.stage
    now = uow.now()
    deal.stage = stage
    deal.stage_entered_at = now
    _touch(deal, now)
    uow.session.add(
        StageHistory(deal=deal, from_stage=old, to_stage=stage, at=now, actor=uow.actor, note=note)
    )
    uow.session.flush()
    uow.emit(
        "pipeline_deal_stage_changed",
        customer_id=deal.customer_id,
        data=_event_data(deal, from_stage=old.code if old else None, to_stage=stage.code),
        deal=deal,
        old_stage=old,
        new_stage=stage,
    )


def _touch(deal: Deal, now) -> None:
    deal.last_activity_at = now
    deal.stale_notified_at = None


def _require_open(deal: Deal, action: str) -> None:
    if deal.status != "open":
        raise Conflict(
            f"deal {deal.id} is {deal.status}; reopen it before you {action} it "
            f"(crm pipeline deals reopen {deal.id})",
            field="deal",
        )


def create_deal(
    uow,
    *,
    customer: Customer | int | str,
    title: str,
    amount: str | int | None = None,
    currency: str | None = None,
    expected_close: str | date | None = None,
    pipeline: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    round_robin: bool = True,
    probability: str | int | None = None,
    next_activity: str | None = None,
    next_activity_on: str | date | None = None,
    source: str | None = None,
    lead: Lead | None = None,
    note: str | None = None,
) -> Deal:
    """Open a deal for a customer in an open stage (the pipeline's first by default).

    The owner is ``owner`` (an active rep's username) or, when not given, the next rep by round-robin.
    """
    title = parse_name(title, field="title", limit=300)
    money = parse_amount(amount, currency)
    cur = money.currency if money else (currency or "IRR").strip().upper()
    currency_exponent(cur)
    pipe = get_pipeline(uow, pipeline)
    first = find_stage(pipe, stage) if stage else first_open_stage(pipe)
    if first.kind != "open":
        raise ValidationError(
            f"a deal starts in an open stage, not {first.code!r}; create it, then win or lose it",
            field="stage",
        )
    cust = _customer(uow, customer)
    deal = Deal(
        title=title,
        customer_id=cust.id,
        lead_id=lead.id if lead else None,
        source=get_source(uow, source) if source else (lead.source if lead else None),
        pipeline=pipe,
        amount_minor=money.minor if money else None,
        currency=cur,
        expected_close=parse_optional_date(expected_close, field="expected_close"),
        probability=None if probability in (None, "") else parse_probability(probability),
        next_activity=optional_text(next_activity, field="next_activity", limit=300),
        next_activity_on=parse_optional_date(next_activity_on, field="next_activity_on"),
        stage=first,
        status="open",
        created_at=uow.now(),
    )
    deal.owner = (
        lead.owner
        if lead and lead.owner and not owner and lead.owner.active
        else choose_owner(uow, owner, round_robin=round_robin)
    )
    uow.session.add(deal)
    uow.session.flush()
    uow.audit(
        "create",
        "pipeline_deal",
        deal.id,
        {"title": title, "stage": first.code},
        customer_id=cust.id,
    )
    _enter_stage(uow, deal, first, optional_text(note, field="note"), first=True)
    notices.assigned(uow, deal)
    return deal


def move_deal(uow, deal_id: int | str, stage: str, *, note: str | None = None) -> Deal:
    """Move an open deal to another open stage of its pipeline (win or lose it to close it)."""
    deal = get_deal(uow, deal_id, lock=True, access="write")
    _require_open(deal, "move")
    target = find_stage(deal.pipeline, stage)
    if target.kind == "won":
        raise ValidationError(
            f"{target.code!r} closes the deal; use: crm pipeline deals win {deal.id}", field="stage"
        )
    if target.kind == "lost":
        raise ValidationError(
            f"{target.code!r} closes the deal; use: crm pipeline deals lose {deal.id} --reason R",
            field="stage",
        )
    if target.id == deal.stage_id:
        raise ValidationError(f"deal {deal.id} is already in stage {target.code!r}", field="stage")
    _enter_stage(uow, deal, target, optional_text(note, field="note"))
    return deal


UPDATABLE = (
    "title",
    "amount",
    "currency",
    "expected_close",
    "probability",
    "owner",
    "next_activity",
    "next_activity_on",
)


def update_deal(uow, deal_id: int | str, **changes: Any) -> dict[str, list[Any]]:
    """Change a deal's fields; a value of ``None`` clears it (probability back to the stage's default).

    Returns ``{field: [old, new]}`` of what changed. Amount and currency of a closed deal are frozen.
    """
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationError(
            f"cannot change {', '.join(sorted(unknown))} of a deal", field=sorted(unknown)[0]
        )
    deal = get_deal(uow, deal_id, lock=True, access="write")
    done: dict[str, list[Any]] = {}

    def record(field: str, old: Any, new: Any) -> None:
        if old != new:
            done[field] = [old, new]

    if ("amount" in changes or "currency" in changes) and deal.status != "open":
        raise Conflict(
            f"deal {deal.id} is {deal.status}; its amount is final (reopen it to change it)",
            field="amount",
        )
    if "title" in changes:
        new = parse_name(changes["title"], field="title", limit=300)
        record("title", deal.title, new)
        deal.title = new
    if "amount" in changes or "currency" in changes:
        cur = (changes.get("currency") or deal.currency).strip().upper()
        currency_exponent(cur)
        if "amount" in changes:
            money = parse_amount(changes["amount"], cur)
        else:
            money = None if deal.amount_minor is None else parse_amount(str(deal.money.amount), cur)
        old = None if deal.amount_minor is None else str(deal.money)
        deal.amount_minor, deal.currency = (money.minor, cur) if money else (None, cur)
        record("amount", old, None if money is None else str(money))
    if "expected_close" in changes:
        new = parse_optional_date(changes["expected_close"], field="expected_close")
        record("expected_close", _iso(deal.expected_close), _iso(new))
        deal.expected_close = new
    if "probability" in changes:
        raw = changes["probability"]
        new = None if raw in (None, "") else parse_probability(raw)
        record("probability", deal.probability, new)
        deal.probability = new
    if "owner" in changes:
        rep = choose_owner(uow, changes["owner"], round_robin=False) if changes["owner"] else None
        record("owner", deal.owner.username if deal.owner else None, rep.username if rep else None)
        changed, deal.owner = rep is not deal.owner, rep
        if changed:
            notices.assigned(uow, deal)
    if "next_activity" in changes:
        new = optional_text(changes["next_activity"], field="next_activity", limit=300)
        record("next_activity", deal.next_activity, new)
        deal.next_activity = new
    if "next_activity_on" in changes:
        new = parse_optional_date(changes["next_activity_on"], field="next_activity_on")
        record("next_activity_on", _iso(deal.next_activity_on), _iso(new))
        deal.next_activity_on = new
    if done:
        _touch(deal, uow.now())
        uow.session.flush()
        uow.audit("update", "pipeline_deal", deal.id, done, customer_id=deal.customer_id)
    return done


def win_deal(
    uow,
    deal_id: int | str,
    *,
    reason: str | None = None,
    amount: str | int | None = None,
    note: str | None = None,
) -> Deal:
    """Close an open deal as won; it must have a positive amount (given here or before).

    Unless its pipeline says not to, the win is also recorded as a purchase of the customer
    (:func:`.sales.record_sale`)."""
    deal = get_deal(uow, deal_id, lock=True, access="write")
    _require_open(deal, "win")
    if amount not in (None, ""):
        money = parse_amount(amount, deal.currency)
        deal.amount_minor = money.minor
    if not deal.amount_minor:
        raise ValidationError(
            f"deal {deal.id} has no amount; give the amount it was won for (--amount)",
            field="amount",
        )
    why = get_reason(uow, "won", reason) if reason else None
    return _close(uow, deal, "won", why, note)


def lose_deal(uow, deal_id: int | str, *, reason: str | None, note: str | None = None) -> Deal:
    """Close an open deal as lost, with a reason from the managed list."""
    deal = get_deal(uow, deal_id, lock=True, access="write")
    _require_open(deal, "lose")
    if not reason:
        from .catalog import ensure_defaults
        from .models import CloseReason

        ensure_defaults(uow)
        codes = uow.session.scalars(
            select(CloseReason.code).where(CloseReason.kind == "lost", CloseReason.active.is_(True))
        )
        raise ValidationError(f"losing a deal needs a reason ({', '.join(codes)})", field="reason")
    return _close(uow, deal, "lost", get_reason(uow, "lost", reason), note)


def _close(uow, deal: Deal, status: str, reason, note: str | None) -> Deal:
    deal.status = status
    deal.closed_at = uow.now()
    deal.close_reason = reason
    deal.close_note = optional_text(note, field="note")
    _enter_stage(uow, deal, closing_stage(deal.pipeline, status), deal.close_note)
    uow.audit(
        status,
        "pipeline_deal",
        deal.id,
        {
            "reason": reason.code if reason else None,
            "amount": str(deal.money) if deal.money else None,
        },
        customer_id=deal.customer_id,
    )
    if status == "won":
        from .sales import record_sale

        record_sale(uow, deal)
    uow.emit(
        f"pipeline_deal_{status}",
        customer_id=deal.customer_id,
        data=_event_data(deal, reason=reason.code if reason else None),
        deal=deal,
        reason=reason,
    )
    return deal


def reopen_deal(
    uow, deal_id: int | str, *, stage: str | None = None, note: str | None = None
) -> Deal:
    """Reopen a won or lost deal, into ``stage`` or else the stage it was closed from."""
    deal = get_deal(uow, deal_id, lock=True, access="write")
    if deal.status == "open":
        raise Conflict(f"deal {deal.id} is already open (stage {deal.stage.code!r})", field="deal")
    if stage:
        target = find_stage(deal.pipeline, stage)
        if target.kind != "open":
            raise ValidationError(
                f"a deal is reopened into an open stage, not {target.code!r}", field="stage"
            )
    else:
        last = uow.session.scalar(
            select(StageHistory)
            .where(StageHistory.deal_id == deal.id)
            .order_by(StageHistory.at.desc(), StageHistory.id.desc())
            .limit(1)
        )
        target = (
            last.from_stage if last and last.from_stage and last.from_stage.kind == "open" else None
        )
        target = target or first_open_stage(deal.pipeline)
    deal.status = "open"
    deal.closed_at = None
    deal.close_reason = None
    deal.close_note = None
    uow.audit(
        "reopen", "pipeline_deal", deal.id, {"stage": target.code}, customer_id=deal.customer_id
    )
    _enter_stage(uow, deal, target, optional_text(note, field="note"))
    return deal


def log_activity(
    uow,
    deal_id: int | str,
    *,
    kind: str = "note",
    note: str | None = None,
    next_activity: str | None = None,
    next_activity_on: str | date | None = None,
) -> DealActivity:
    """Record something done on the deal (it is no longer stale) and optionally plan the next step."""
    if kind not in ACTIVITY_KINDS:
        raise ValidationError(
            f"{kind!r} is not an activity kind ({', '.join(ACTIVITY_KINDS)})", field="kind"
        )
    deal = get_deal(uow, deal_id, access="write")
    now = uow.now()
    activity = DealActivity(
        deal_id=deal.id, at=now, kind=kind, note=optional_text(note, field="note"), actor=uow.actor
    )
    uow.session.add(activity)
    if next_activity is not None or next_activity_on is not None:
        deal.next_activity = optional_text(next_activity, field="next_activity", limit=300)
        deal.next_activity_on = parse_optional_date(next_activity_on, field="next_activity_on")
    _touch(deal, now)
    uow.session.flush()
    return activity


def list_deals(
    uow,
    *,
    status: str | None = "open",
    pipeline: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    customer: Customer | int | str | None = None,
) -> list[Deal]:
    q = select(Deal).order_by(Deal.id)
    if status not in (None, "all"):
        if status not in DEAL_STATUSES:
            raise ValidationError(
                f"{status!r} is not a deal status ({', '.join(DEAL_STATUSES)}, all)", field="status"
            )
        q = q.where(Deal.status == status)
    if pipeline or stage:
        pipe = get_pipeline(uow, pipeline)
        q = q.where(Deal.pipeline_id == pipe.id)
        if stage:
            q = q.where(Deal.stage_id == find_stage(pipe, stage).id)
    if owner:
        q = q.where(Deal.owner_id == get_rep(uow, owner).id)
    if customer not in (None, ""):
        q = q.where(Deal.customer_id == _customer(uow, customer).id)
    readable = readable_deals(uow)
    if readable is not None:
        q = q.outerjoin(SalesRep, SalesRep.id == Deal.owner_id).where(readable)
    return list(uow.session.scalars(q))


def deal_history(uow, deal: Deal) -> list[StageHistory]:
    return list(
        uow.session.scalars(
            select(StageHistory)
            .where(StageHistory.deal_id == deal.id)
            .order_by(StageHistory.at, StageHistory.id)
        )
    )


def deal_activities(uow, deal: Deal) -> list[DealActivity]:
    return list(
        uow.session.scalars(
            select(DealActivity)
            .where(DealActivity.deal_id == deal.id)
            .order_by(DealActivity.at, DealActivity.id)
        )
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def customer_names(uow, deals: list[Deal]) -> dict[int, str]:
    ids = {d.customer_id for d in deals}
    if not ids:
        return {}
    return dict(
        uow.session.execute(
            select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
        ).all()
    )


def deal_to_dict(
    deal: Deal,
    *,
    customer_name: str | None = None,
    calendar: str = "gregorian",
    tz: str = "Asia/Tehran",
) -> dict[str, Any]:
    money = deal.money
    data: dict[str, Any] = {
        "id": deal.id,
        "title": deal.title,
        "customer_id": deal.customer_id,
        "customer": customer_name,
        "pipeline": deal.pipeline.code,
        "stage": deal.stage.code,
        "stage_name": deal.stage.name,
        "status": deal.status,
        "owner": deal.owner.username if deal.owner else None,
        "amount": str(money.amount) if money else None,
        "currency": deal.currency,
        "probability": deal.effective_probability,
        "probability_override": deal.probability,
        "weighted_amount": (
            str(
                Money(
                    weighted_minor(money.minor * deal.effective_probability), deal.currency
                ).amount
            )
            if money
            else None
        ),
        "expected_close": _iso(deal.expected_close),
        "next_activity": deal.next_activity,
        "next_activity_on": _iso(deal.next_activity_on),
        "source": deal.source.code if deal.source else None,
        "lead_id": deal.lead_id,
        "created_at": deal.created_at.isoformat(),
        "stage_entered_at": deal.stage_entered_at.isoformat(),
        "last_activity_at": deal.last_activity_at.isoformat(),
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "close_reason": deal.close_reason.code if deal.close_reason else None,
        "close_note": deal.close_note,
    }
    if calendar == "jalali":
        data["expected_close_jalali"] = format_date(deal.expected_close, "jalali", tz=tz) or None
        data["next_activity_on_jalali"] = (
            format_date(deal.next_activity_on, "jalali", tz=tz) or None
        )
    return data


def history_to_dict(
    row: StageHistory, *, calendar: str = "gregorian", tz: str = "Asia/Tehran"
) -> dict[str, Any]:
    from crmcore.api import format_datetime

    return {
        "at": row.at.isoformat(),
        "at_local": format_datetime(row.at, calendar, tz=tz),
        "from": row.from_stage.code if row.from_stage else None,
        "to": row.to_stage.code,
        "actor": row.actor,
        "note": row.note,
    }
