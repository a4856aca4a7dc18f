"""The Asterisk Manager Interface wire format: ``Key: Value`` lines ending in CRLF, a blank line ending each
message. :class:`FrameParser` is incremental (feed it whatever the socket gave) and never raises on bad
input: malformed lines are logged and skipped, oversized frames dropped."""

from __future__ import annotations

import logging
from typing import Iterator

log = logging.getLogger("crmcore_voip.ami")

MAX_FRAME_BYTES = 64 * 1024


class AMIMessage:
    """One AMI message: an event (``Event: Hangup``) or a response (``Response: Success``).

    Keys are matched case-insensitively (Asterisk spells ``Uniqueid`` and ``UniqueID`` in different
    versions); repeated keys (``ChanVariable``) are kept in order."""

    __slots__ = ("headers", "_index")

    def __init__(self, headers: list[tuple[str, str]]):
        self.headers = headers
        self._index: dict[str, str] = {}
        for k, v in headers:
            self._index.setdefault(k.lower(), v)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._index.get(key.lower(), default)

    def first(self, *keys: str) -> str | None:
        """The first of ``keys`` present with a non-empty value."""
        for k in keys:
            v = self._index.get(k.lower())
            if v not in (None, ""):
                return v
        return None

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == key.lower()]

    def __contains__(self, key: str) -> bool:
        return key.lower() in self._index

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def as_dict(self) -> dict[str, str]:
        return dict(self.headers)

    def __repr__(self) -> str:
        head = f"Event={self.event}" if self.event else f"Response={self.response}"
        return f"<AMIMessage {head} {len(self.headers)} fields>"


class FrameParser:
    """Bytes in, :class:`AMIMessage` out."""

    def __init__(
        self,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        *,
        kinds: tuple[str, ...] = ("Event", "Response"),
    ):
        self.max_frame_bytes = max_frame_bytes
        #: a message must have one of these keys (a PBX sends events and responses; a PBX reads actions)
        self.kinds = kinds
        self._buffer = b""
        self._lines: list[tuple[str, str]] = []
        self._frame_bytes = 0
        self._skipping = False
        #: counts of what was dropped, for logs and tests
        self.malformed_lines = 0
        self.dropped_frames = 0

    def feed(self, data: bytes) -> list[AMIMessage]:
        buffer = self._buffer + data if self._buffer else data
        out: list[AMIMessage] = []
        pos = 0
        while True:
            nl = buffer.find(b"\n", pos)
            if nl < 0:
                break
            message = self._line(buffer[pos:nl].rstrip(b"\r"))
            pos = nl + 1
            if message is not None:
                out.append(message)
        self._buffer = buffer[pos:]
        if len(self._buffer) > self.max_frame_bytes:  # a line that never ends
            self._drop(f"a line longer than {self.max_frame_bytes} bytes")
            self._buffer = b""
            self._skipping = True
        return out

    def _line(self, raw: bytes) -> AMIMessage | None:
        if not raw.strip():
            if self._skipping:
                self._skipping = False
                return None
            if not self._lines:
                return None  # stray blank line between messages
            message = AMIMessage(self._lines)
            self._lines, self._frame_bytes = [], 0
            if not any(k in message for k in self.kinds):
                self.dropped_frames += 1
                log.warning(
                    "AMI: dropped a message with no %s: %s",
                    " or ".join(self.kinds),
                    ", ".join(k for k, _ in message.headers)[:200],
                )
                return None
            return message
        if self._skipping:
            return None
        self._frame_bytes += len(raw) + 2
        if self._frame_bytes > self.max_frame_bytes:
            self._drop(f"a message longer than {self.max_frame_bytes} bytes")
            self._skipping = True
            return None
        text = raw.decode("utf-8", errors="replace")
        key, sep, value = text.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            self.malformed_lines += 1
            log.warning("AMI: skipped a malformed line %r", text[:200])
            return None
        self._lines.append((key.strip(), value.strip()))
        return None

    def _drop(self, why: str) -> None:
        self.dropped_frames += 1
        self._lines, self._frame_bytes = [], 0
        log.warning("AMI: dropped %s", why)


def encode_action(action: str, fields: dict[str, str | int | None]) -> bytes:
    """An action message; ``None`` values are left out. Values may not contain line breaks."""
    lines = [f"Action: {action}"]
    for k, v in fields.items():
        if v is None:
            continue
        value = str(v)
        if "\r" in value or "\n" in value:
            raise ValueError(f"AMI field {k} contains a line break")
        lines.append(f"{k}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def iter_messages(data: bytes) -> Iterator[AMIMessage]:
    """Parse a complete capture (tests, replaying a log)."""
    yield from FrameParser().feed(data)
