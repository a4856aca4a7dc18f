"""Caller numbers as PBXs send them, made comparable with the numbers stored on customers (E.164).

PBXs in Iran send caller IDs in many shapes: ``09121234567``, ``9121234567``, ``989121234567``,
``+989121234567``, ``00989121234567``, a trunk's outside-line prefix before any of these (``909121234567``
with prefix ``9``), an 8-digit local landline without its area code (``88888888`` on a Tehran line),
Persian digits from a softphone, SIP URIs (``sip:0912…@pbx``) and display forms (``"Ali" <0912…>``).
The kernel's :func:`crmcore.api.parse_phone` does the final validation.
"""

from __future__ import annotations

import re

import attrs

from crmcore.api import ValidationError, parse_phone, to_ascii_digits

from .config import VoipConfig

WITHHELD_WORDS = {
    "",
    "anonymous",
    "unknown",
    "<unknown>",
    "restricted",
    "private",
    "withheld",
    "unavailable",
    "none",
    "null",
    "ناشناس",
}
_ANGLE = re.compile(r"<([^>]*)>")
_URI = re.compile(r"^(?:sips?|tel):([^@;]*)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-.()/\u200c\u200e\u200f]")

WITHHELD, INTERNAL, INVALID = "withheld", "internal", "invalid"


@attrs.frozen
class CallerNumber:
    """A caller number: ``e164`` when it is a real outside number, else ``kind`` says why not."""

    raw: str | None
    e164: str | None
    kind: str  # mobile | landline | other | withheld | internal | invalid
    reason: str | None = None

    @property
    def is_outside(self) -> bool:
        return self.e164 is not None


def _plausible_national(digits: str) -> bool:
    """Digits that read as an Iranian number without country code (with or without the trunk 0)."""
    if len(digits) == 11:
        return digits[0] == "0" and digits[1] != "0"
    if len(digits) == 10:
        return digits[0] != "0"
    return len(digits) == 8 and digits[0] != "0"


def normalize_caller(raw: str | None, config: VoipConfig | None = None) -> CallerNumber:
    """Read a caller ID; never raises (a bad number is a :class:`CallerNumber` of kind ``invalid``)."""
    cfg = config or VoipConfig()
    text = "" if raw is None else str(raw).strip()
    if text.strip('"').strip().lower() in WITHHELD_WORDS:
        return CallerNumber(raw, None, WITHHELD, "the caller withheld their number")
    inner = _ANGLE.search(text)
    if inner:
        text = inner.group(1).strip()
    uri = _URI.match(text)
    if uri:
        text = uri.group(1)
    text = _SEPARATORS.sub("", to_ascii_digits(text))
    if text.lower() in WITHHELD_WORDS:
        return CallerNumber(raw, None, WITHHELD, "the caller withheld their number")
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit():
        return CallerNumber(
            raw,
            None,
            INVALID,
            f"{raw!r} is not a phone number (it has characters other than digits)",
        )
    if not plus and len(digits) <= cfg.max_extension_digits:
        return CallerNumber(raw, None, INTERNAL, f"{raw!r} is an internal extension")
    if not plus:
        for prefix in sorted(cfg.trunk_prefixes, key=len, reverse=True):
            rest = digits[len(prefix) :]
            if (
                digits.startswith(prefix)
                and _plausible_national(rest)
                and not _plausible_national(digits)
            ):
                digits = rest
                break
        if len(digits) == 8 and digits[0] != "0":
            digits = "0" + cfg.area_code + digits  # a local landline: the PBX dropped the area code
        elif len(digits) == 12 and digits.startswith("98"):
            digits = "+" + digits  # country code without the plus
    candidate = ("+" + digits) if plus else digits
    try:
        phone = parse_phone(candidate, field="caller")
    except ValidationError as exc:
        return CallerNumber(raw, None, INVALID, str(exc.args[0]) if exc.args else str(exc))
    return CallerNumber(raw, phone.e164, phone.kind)
