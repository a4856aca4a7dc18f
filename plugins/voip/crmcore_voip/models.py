"""The voip plugin's tables: the call log and the missed-call follow-up ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crmcore.api import Base, CustomerData, JSONType, numbered

#: the states of a call; ``completed`` and ``missed`` are final
RINGING, IN_PROGRESS, COMPLETED, MISSED = "ringing", "in_progress", "completed", "missed"
FINAL_STATUSES = (COMPLETED, MISSED)


class Call(Base):
    """One phone call as the PBX reported it, keyed by the PBX's own call id (``ami:<Linkedid>``,
    ``twilio:<CallSid>``, ``webhook:<call_id>``) so repeated or late events update the same row."""

    __tablename__ = "voip_calls"
    __customer_data__ = CustomerData(
        erase={
            "caller": None,
            "callee": None,
            "party_e164": None,
            "recording_url": None,
            "details": {},
        },
        keep=(
            "call_key",
            "source",
            "direction",
            "status",
            "party_kind",
            "extension",
            "answered_by",
            "end_cause",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # ami | twilio | webhook | demo
    direction: Mapped[str] = mapped_column(String(8), default="in")  # in | out
    status: Mapped[str] = mapped_column(String(16), default=RINGING)
    #: the numbers as the PBX sent them
    caller: Mapped[Optional[str]] = mapped_column(String(80))
    #: the outside party normalised to E.164: the caller of an inbound call, the callee of an outbound one
    party_e164: Mapped[Optional[str]] = mapped_column(String(20), index=True)
    #: mobile | landline | other, or why there is no number: withheld | internal | invalid
    party_kind: Mapped[str] = mapped_column(String(16), default="withheld")
    callee: Mapped[Optional[str]] = mapped_column(String(80))
    #: the extension (or agent phone) being rung / that placed an outbound call
    extension: Mapped[Optional[str]] = mapped_column(String(40))
    answered_by: Mapped[Optional[str]] = mapped_column(String(100))
    started_at: Mapped[datetime]
    answered_at: Mapped[Optional[datetime]]
    ended_at: Mapped[Optional[datetime]]
    ring_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    talk_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    end_cause: Mapped[Optional[str]] = mapped_column(String(60))
    recording_url: Mapped[Optional[str]] = mapped_column(Text)
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    interaction_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interactions.id"))
    #: anything else worth keeping (who closed a call the PBX never finished, the pop shown…)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_voip_calls_started", "started_at"),)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class FollowUp(Base):
    """A missed-call follow-up: where it went (a task, a ticket, or this table) and how many missed calls of
    the same caller it covers. Also the ledger behind "at most one follow-up per caller per hour"."""

    __tablename__ = "voip_follow_ups"
    __customer_data__ = CustomerData(
        # the key names the caller's number; unique, so numbered
        erase={
            "caller_e164": "forgotten",
            "title": "(forgotten)",
            "dedup_key": numbered("voip:forgotten:"),
        },
        keep=("via", "reference", "status", "done_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller_e164: Mapped[str] = mapped_column(String(20))
    #: the missed call that opened the window; later misses of the same caller within it are counted here
    first_missed_at: Mapped[datetime]
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("voip_calls.id"))
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    via: Mapped[str] = mapped_column(String(16))  # tasks | tickets | voip
    reference: Mapped[Optional[str]] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime]
    missed_calls: Mapped[int] = mapped_column(Integer, default=1)
    last_missed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    done_at: Mapped[Optional[datetime]]
    done_by: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_voip_follow_ups_caller_first", "caller_e164", "first_missed_at"),)
