"""The voip panel of the customer profile: recent calls and open missed-call follow-ups."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import to_persian_digits, ui

from .models import COMPLETED, MISSED, Call, FollowUp

RECENT = 5
L = ui.Label
DIRECTIONS = {"in": L("incoming", "ورودی"), "out": L("outgoing", "خروجی")}
STATUSES = {
    "ringing": (L("ringing", "در حال زنگ"), "info"),
    "in_progress": (L("talking", "در حال مکالمه"), "info"),
    "completed": (L("answered", "پاسخ داده شد"), "success"),
    "missed": (L("missed", "بی‌پاسخ"), "danger"),
}


def voip_profile_section(uow, customer) -> ui.Panel | None:
    session = uow.session
    counts = dict(
        session.execute(
            select(Call.status, func.count())
            .where(Call.customer_id == customer.id)
            .group_by(Call.status)
        ).all()
    )
    if not counts:
        return None
    recent = list(
        session.scalars(
            select(Call)
            .where(Call.customer_id == customer.id)
            .order_by(Call.started_at.desc(), Call.id.desc())
            .limit(RECENT)
        )
    )
    open_follow_ups = (
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(FollowUp.customer_id == customer.id, FollowUp.status == "open")
        )
        or 0
    )
    data = {
        "calls": sum(counts.values()),
        "answered": counts.get(COMPLETED, 0),
        "missed": counts.get(MISSED, 0),
        "open_follow_ups": open_follow_ups,
        "recent": [
            {
                "id": c.id,
                "at": c.started_at.isoformat(),
                "direction": c.direction,
                "status": c.status,
                "extension": c.extension,
                "answered_by": c.answered_by,
                "talk_seconds": c.talk_seconds,
                "recording_url": c.recording_url,
            }
            for c in recent
        ],
    }
    items = [
        ui.Stat(L("Calls", "تماس‌ها"), data["calls"], kind="number"),
        ui.Stat(L("Answered", "پاسخ داده شد"), data["answered"], kind="number"),
        ui.Stat(
            L("Missed", "بی‌پاسخ"),
            data["missed"],
            kind="number",
            tone="danger" if data["missed"] else "neutral",
        ),
        ui.Stat(
            L("To call back", "برای تماس مجدد"),
            open_follow_ups,
            kind="number",
            tone="warning" if open_follow_ups else "neutral",
        ),
        ui.Table(
            columns=[
                ui.Column("at", L("When", "زمان"), "moment"),
                ui.Column("direction", L("Direction", "جهت")),
                ui.Column("status", L("Result", "نتیجه"), "badge"),
                ui.Column("by", L("Answered by", "پاسخ‌دهنده")),
                ui.Column("talk", L("Talk", "مکالمه")),
            ],
            rows=[
                {
                    "at": c.started_at,
                    "direction": DIRECTIONS.get(c.direction, L(c.direction)),
                    "status": ui.Badge(*STATUSES.get(c.status, (L(c.status), "neutral"))),
                    "by": c.answered_by or c.extension,
                    "talk": _duration(c.talk_seconds),
                }
                for c in recent
            ],
            title=L("Latest calls", "آخرین تماس‌ها"),
            total=data["calls"],
        ),
    ]
    return ui.Panel(key="voip", title=L("Calls", "تماس‌ها"), items=items, order=60, data=data)


def _duration(seconds: int | None) -> str | None:
    """``3:05`` (minutes and seconds) of talk; nothing for a call without talk."""
    if not seconds:
        return None
    return f"{seconds // 60}:{seconds % 60:02d}"


def call_outcome(interaction) -> ui.Label | None:
    """``answered · 3:05`` / ``missed`` for a call interaction voip recorded (its payload has the
    call's status); ``None`` for anything else."""
    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    if interaction.kind != "call" or "call_key" not in payload or "status" not in payload:
        return None
    status, _tone = STATUSES.get(payload["status"], (L(str(payload["status"])), "neutral"))
    talk = _duration(payload.get("duration_seconds"))
    if not talk:
        return status
    return L(f"{status.en} · {talk}", f"{status.fa} · {to_persian_digits(talk)}")
