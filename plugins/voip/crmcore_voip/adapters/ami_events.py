"""Asterisk events → call events. Correlates the channels of a call by ``Linkedid`` (Asterisk 12+) or, for
older versions without it, by following ``Dial`` from the source ``Uniqueid`` to the destination's.

Handled: ``Newchannel``, ``DialBegin``/``DialEnd`` and the older ``Dial`` (``SubEvent: Begin/End`` and the
1.4 form with ``SrcUniqueID``), ``BridgeEnter`` and the older ``Link``/``Bridge``, ``Hangup``, and
``CoreShowChannel`` (the snapshot taken after each reconnect). Duplicated events produce nothing new;
events of unknown calls start the call with what they carry.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable

import attrs

from ..config import VoipConfig
from ..events import ANSWERED, HANGUP, RINGING, CallEvent
from .ami_protocol import AMIMessage

log = logging.getLogger("crmcore_voip.ami")

_CHANNEL_EXT = re.compile(r"^[A-Za-z0-9]+/([^@\-/]+)")
RECENTLY_ENDED = 5000


@attrs.define
class CallState:
    call_id: str
    root: str  # Uniqueid of the channel that started the call
    started_at: datetime
    caller: str | None = None
    callee: str | None = None
    direction: str = "in"
    extension: str | None = None
    rang: bool = False
    answered: bool = False


def _ext_of_channel(channel: str | None) -> str | None:
    """``PJSIP/101-00000002`` → ``101``; ``SIP/trunk-0000`` → ``trunk``."""
    if not channel:
        return None
    m = _CHANNEL_EXT.match(channel)
    return m.group(1) if m else None


class AMICallTracker:
    """Feed it AMI messages; it returns the :class:`CallEvent` they mean (often none)."""

    def __init__(
        self,
        config: VoipConfig | None = None,
        *,
        source: str = "ami",
        clock: Callable[[], datetime] | None = None,
    ):
        self.config = config or VoipConfig()
        self.source = source
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.calls: dict[str, CallState] = {}
        self.channel_call: dict[str, str] = {}  # Uniqueid → call id
        self._ended: OrderedDict[str, None] = OrderedDict()
        self.snapshot: set[str] | None = None  # call ids active at the last CoreShowChannels

    # --- helpers ----------------------------------------------------------------------------------
    def _is_internal(self, number: str | None) -> bool:
        return bool(number) and number.isdigit() and len(number) <= self.config.max_extension_digits

    def _at(self, msg: AMIMessage) -> datetime:
        ts = msg.get("Timestamp")
        if ts:
            try:
                return datetime.fromtimestamp(float(ts), timezone.utc)
            except (ValueError, OverflowError, OSError):
                log.warning("AMI: unreadable Timestamp %r in %s; using the clock", ts, msg.event)
        return self.clock()

    def _call_for(self, uniqueid: str | None, linkedid: str | None) -> CallState | None:
        cid = linkedid or (self.channel_call.get(uniqueid) if uniqueid else None)
        return self.calls.get(cid) if cid else None

    def _start(self, msg: AMIMessage, uniqueid: str, linkedid: str | None) -> CallState | None:
        call_id = linkedid or uniqueid
        if call_id in self._ended:
            return None
        caller = msg.first("CallerIDNum", "CallerID")
        exten = msg.first("Exten")
        state = CallState(call_id=call_id, root=linkedid or uniqueid, started_at=self._at(msg))
        if self._is_internal(caller) and exten and not self._is_internal(exten):
            state.direction, state.extension, state.caller, state.callee = (
                "out",
                caller,
                caller,
                exten,
            )
        else:
            state.caller, state.callee = caller, exten
        self.calls[call_id] = state
        self.channel_call[uniqueid] = call_id
        return state

    def _event(self, kind: str, state: CallState, msg: AMIMessage, **extra) -> CallEvent:
        return CallEvent(
            kind=kind,
            source=self.source,
            call_id=state.call_id,
            at=self._at(msg),
            caller=state.caller,
            callee=state.callee,
            extension=state.extension,
            direction=state.direction,
            raw=msg.as_dict(),
            **extra,
        )

    def _ring(self, state: CallState, msg: AMIMessage) -> list[CallEvent]:
        if state.rang:
            return []
        state.rang = True
        return [self._event(RINGING, state, msg)]

    def _answer(self, state: CallState, msg: AMIMessage, agent: str | None) -> list[CallEvent]:
        if state.answered:
            return []
        out = self._ring(state, msg)
        state.answered = True
        if state.direction == "in" and agent and not state.extension:
            state.extension = agent
        out.append(self._event(ANSWERED, state, msg, agent=agent or state.extension))
        return out

    # --- the events -------------------------------------------------------------------------------
    def feed(self, msg: AMIMessage) -> list[CallEvent]:
        name = (msg.event or "").lower()
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            return []
        try:
            return handler(msg)
        except ValueError as exc:  # a CallEvent refused what the PBX sent
            log.warning("AMI: ignored a %s event: %s", msg.event, exc)
            return []

    def _on_newchannel(self, msg: AMIMessage) -> list[CallEvent]:
        uid, lid = msg.get("Uniqueid"), msg.get("Linkedid")
        if not uid:
            log.warning("AMI: Newchannel without Uniqueid ignored")
            return []
        if lid and lid != uid:  # another leg of a known call
            self.channel_call[uid] = lid
            if lid not in self.calls and lid not in self._ended:
                log.info("AMI: leg %s of call %s we did not see start", uid, lid)
            return []
        if self._call_for(uid, lid) is None:
            self._start(msg, uid, lid)
        return []

    def _dial_begin(
        self,
        msg: AMIMessage,
        src_uid: str | None,
        dest_uid: str | None,
        dest_ext: str | None,
        linkedid: str | None,
    ) -> list[CallEvent]:
        if not src_uid:
            log.warning("AMI: %s without the source Uniqueid ignored", msg.event)
            return []
        state = self._call_for(src_uid, linkedid) or self._start(msg, src_uid, linkedid)
        if state is None:
            return []
        if dest_uid:
            self.channel_call[dest_uid] = state.call_id
        if state.direction == "in":
            if dest_ext and not state.extension:
                state.extension = dest_ext
        elif not state.callee or self._is_internal(state.callee):
            state.callee = dest_ext or state.callee
        return self._ring(state, msg)

    def _on_dialbegin(self, msg: AMIMessage) -> list[CallEvent]:
        dest_ext = msg.first("DestCallerIDNum", "DestExten") or _ext_of_channel(
            msg.get("DestChannel")
        )
        if dest_ext and not dest_ext.isdigit():
            dest_ext = _ext_of_channel(msg.get("DestChannel")) or msg.first("DialString")
        return self._dial_begin(
            msg, msg.get("Uniqueid"), msg.get("DestUniqueid"), dest_ext, msg.get("Linkedid")
        )

    def _dial_end(
        self,
        msg: AMIMessage,
        src_uid: str | None,
        linkedid: str | None,
        status: str | None,
        agent: str | None,
    ) -> list[CallEvent]:
        state = self._call_for(src_uid, linkedid)
        if state is None or (status or "").upper() != "ANSWER":
            return []
        return self._answer(state, msg, agent)

    def _on_dialend(self, msg: AMIMessage) -> list[CallEvent]:
        agent = msg.first("DestCallerIDNum") or _ext_of_channel(msg.get("DestChannel"))
        return self._dial_end(
            msg, msg.get("Uniqueid"), msg.get("Linkedid"), msg.get("DialStatus"), agent
        )

    def _on_dial(self, msg: AMIMessage) -> list[CallEvent]:
        """Asterisk 1.8/11 (``SubEvent: Begin|End``) and 1.4 (``Source``/``SrcUniqueID``)."""
        sub = (msg.get("SubEvent") or "Begin").lower()
        src = msg.first("UniqueID", "SrcUniqueID")
        if sub == "begin":
            dest_ext = _ext_of_channel(msg.first("Destination")) or msg.first("Dialstring")
            return self._dial_begin(
                msg, src, msg.get("DestUniqueID"), dest_ext, msg.get("Linkedid")
            )
        if sub == "end":
            return self._dial_end(msg, src, msg.get("Linkedid"), msg.get("DialStatus"), None)
        return []

    def _on_bridgeenter(self, msg: AMIMessage) -> list[CallEvent]:
        uid = msg.get("Uniqueid")
        state = self._call_for(uid, msg.get("Linkedid"))
        if state is None:
            return []
        try:
            count = int(msg.get("BridgeNumChannels") or "0")
        except ValueError:
            count = 0
        if count < 2:
            return []
        if uid != state.root:
            agent = msg.first("CallerIDNum") or _ext_of_channel(msg.get("Channel"))
        else:
            agent = msg.first("ConnectedLineNum")
        return self._answer(
            state, msg, agent if self._is_internal(agent) or state.direction == "in" else None
        )

    def _link(self, msg: AMIMessage) -> list[CallEvent]:
        uid1, uid2 = msg.get("Uniqueid1"), msg.get("Uniqueid2")
        state = self._call_for(uid1, None) or self._call_for(uid2, None)
        if state is None:
            return []
        agent = msg.first("CallerID2") or _ext_of_channel(msg.get("Channel2"))
        return self._answer(state, msg, agent)

    def _on_link(self, msg: AMIMessage) -> list[CallEvent]:
        return self._link(msg)

    def _on_bridge(self, msg: AMIMessage) -> list[CallEvent]:
        if (msg.get("Bridgestate") or "Link").lower() != "link":
            return []
        return self._link(msg)

    def _on_hangup(self, msg: AMIMessage) -> list[CallEvent]:
        uid, lid = msg.get("Uniqueid"), msg.get("Linkedid")
        if not uid:
            log.warning("AMI: Hangup without Uniqueid ignored")
            return []
        state = self._call_for(uid, lid)
        if state is None:
            call_id = lid or self.channel_call.get(uid) or uid
            if call_id in self._ended or uid != (lid or uid):
                return []  # a repeated hang-up, or another leg of a call we never saw
            state = self._start(msg, uid, lid)
            if state is None:
                return []
        if uid != state.root:
            self.channel_call.pop(uid, None)
            return []  # an agent's leg hung up; the call goes on (transfers, ring groups)
        cause = msg.first("Cause-txt", "Cause")
        del self.calls[state.call_id]
        for u in [u for u, c in self.channel_call.items() if c == state.call_id]:
            del self.channel_call[u]
        self._ended[state.call_id] = None
        while len(self._ended) > RECENTLY_ENDED:
            self._ended.popitem(last=False)
        return [self._event(HANGUP, state, msg, cause=cause)]

    def _on_coreshowchannel(self, msg: AMIMessage) -> list[CallEvent]:
        """One active channel of the snapshot taken after (re)connecting: learn calls begun while away."""
        uid, lid = msg.get("Uniqueid"), msg.get("Linkedid") or msg.get("Uniqueid")
        if not uid:
            return []
        if self.snapshot is not None:
            self.snapshot.add(lid)
        if uid != lid:
            self.channel_call[uid] = lid
            return []
        state = self._call_for(uid, lid) or self._start(msg, uid, lid)
        if state is None:
            return []
        out = self._ring(state, msg)
        if (msg.get("ChannelStateDesc") or "").lower() == "up" and msg.first(
            "BridgeId", "BridgedUniqueID"
        ):
            out += self._answer(state, msg, msg.first("ConnectedLineNum"))
        return out

    def begin_snapshot(self) -> None:
        self.snapshot = set()

    def end_snapshot(self) -> set[str]:
        """The call ids active at the PBX; calls we tracked but the PBX no longer has are forgotten."""
        active, self.snapshot = self.snapshot or set(), None
        for cid in [c for c in self.calls if c not in active]:
            del self.calls[cid]
        return active
