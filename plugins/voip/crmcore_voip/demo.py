"""The voip part of ``crm demo``: a month of calls to the shop through the same path live calls take."""

from __future__ import annotations

from datetime import timedelta

from .config import VoipConfig
from .events import ANSWERED, HANGUP, RINGING, CallEvent
from .service import handle_call_event

AGENTS = ["101", "102", "103"]
UNKNOWN = ["09351112233", "021 4455 6677", "+98 913 765 4321"]


def seed_demo(uow, customers, rng) -> list[str]:
    cfg = VoipConfig()
    now = uow.now()
    counts = {"completed": 0, "missed": 0}
    follow_ups = set()
    with_phone = [c for c in customers if c.phones]
    for n in range(30):
        start = now - timedelta(
            days=rng.randrange(0, 30), hours=rng.randrange(0, 9), minutes=rng.randrange(0, 60)
        )
        caller = (
            rng.choice(UNKNOWN)
            if n % 6 == 5 or not with_phone
            else rng.choice(with_phone).phones[0].e164
        )
        agent = rng.choice(AGENTS)
        call_id = f"demo-{n:03d}"
        events = [
            CallEvent(
                kind=RINGING,
                source="demo",
                call_id=call_id,
                at=start,
                caller=caller,
                callee="02191001000",
                extension=agent,
                direction="in",
            )
        ]
        ring = timedelta(seconds=rng.randrange(3, 25))
        if rng.random() < 0.75:
            events.append(
                CallEvent(
                    kind=ANSWERED, source="demo", call_id=call_id, at=start + ring, agent=agent
                )
            )
            end = start + ring + timedelta(seconds=rng.randrange(30, 600))
        else:
            end = start + ring
        events.append(CallEvent(kind=HANGUP, source="demo", call_id=call_id, at=end))
        for e in events:
            outcome = handle_call_event(uow, e, cfg)
        counts[outcome.call.status] += 1
        if outcome.call.details.get("follow_up_id"):
            follow_ups.add(outcome.call.details["follow_up_id"])
    total = counts["completed"] + counts["missed"]
    return [
        f"voip: {total} تماس ثبت شد ({counts['completed']} پاسخ‌داده، {counts['missed']} بی‌پاسخ)، "
        f"{len(follow_ups)} پیگیری تماس بی‌پاسخ / {total} calls logged, {len(follow_ups)} missed-call follow-ups"
    ]
