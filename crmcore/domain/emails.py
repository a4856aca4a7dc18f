"""Email addresses, stored lower-case after a syntax check."""

from __future__ import annotations

import re

import attrs

from ..errors import ValidationError

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_EMAIL = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")


@attrs.frozen
class Email:
    """A syntactically valid email address, lower-cased."""

    address: str

    def __str__(self) -> str:
        return self.address


def parse_email(raw: str, *, field: str = "email") -> Email:
    """Validate and lower-case ``raw`` or raise :class:`ValidationError`."""
    return Email(email_address(raw, field=field))


def email_address(raw: str, *, field: str = "email") -> str:
    """:func:`parse_email`'s address as text, without the :class:`Email` value (for the import's hot loop)."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("an email address is required", field=field)
    if len(text) > 254 or not _EMAIL.match(text):
        raise ValidationError(f"{raw!r} is not a valid email address", field=field)
    return text.lower()
