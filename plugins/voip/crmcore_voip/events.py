"""The one shape every telephony adapter produces: a call event."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import attrs

RINGING, ANSWERED, HANGUP, MISSED, INFO = "ringing", "answered", "hangup", "missed", "info"
KINDS = (RINGING, ANSWERED, HANGUP, MISSED, INFO)
DIRECTIONS = ("in", "out")


@attrs.frozen
class CallEvent:
    """Something happened to a call.

    ``kind``: ``ringing`` (the call arrived / an extension rings), ``answered``, ``hangup`` (the call ended;
    answered or not is what the earlier events said), ``missed`` (ended without answer, said explicitly),
    ``info`` (only adds facts, e.g. a recording URL that arrives after the call).
    ``call_id`` is the PBX's id of the whole call (Asterisk Linkedid, Twilio CallSid…), unique per ``source``.
    """

    kind: str
    source: str
    call_id: str
    at: datetime
    caller: Optional[str] = None
    callee: Optional[str] = None
    extension: Optional[str] = None
    direction: Optional[str] = None
    agent: Optional[str] = None
    recording_url: Optional[str] = None
    cause: Optional[str] = None
    #: seconds of conversation when the PBX reports them (Twilio CallDuration); else computed
    talk_seconds: Optional[int] = None
    raw: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    def __attrs_post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown call event kind {self.kind!r} ({', '.join(KINDS)})")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValueError(f"unknown call direction {self.direction!r} (in or out)")
        if not self.call_id:
            raise ValueError("a call event needs the PBX's call id")
        if self.at.tzinfo is None:
            raise ValueError("a call event's time must be timezone-aware")

    @property
    def key(self) -> str:
        return f"{self.source}:{self.call_id}"
