"""Phone numbers: parse anything a person types in Iran, store E.164.

Uses the phonenumbers library (libphonenumber's metadata) with IR as the default region, after folding
Persian/Arabic digits and the 0098 international prefix.
"""

from __future__ import annotations

import re
from functools import lru_cache

import attrs

from ..errors import ValidationError
from .text import to_ascii_digits

DEFAULT_REGION = "IR"
_ALLOWED = re.compile(r"^[0-9+()\-.\s/]*$")


@attrs.frozen
class Phone:
    """A valid phone number in E.164 form (``+989121234567``) with its kind (mobile, landline, other)."""

    e164: str
    kind: str = "other"

    def __str__(self) -> str:
        return self.e164

    def national(self) -> str:
        """National format as Iranians write it: 0912 123 4567."""
        import phonenumbers

        return phonenumbers.format_number(
            phonenumbers.parse(self.e164), phonenumbers.PhoneNumberFormat.NATIONAL
        )


def parse_phone(raw: str, *, region: str = DEFAULT_REGION, field: str = "phone") -> Phone:
    """Parse ``raw`` into a :class:`Phone` or raise :class:`ValidationError` saying why.

    Accepts 09121234567, 9121234567, 00989121234567, +98 912 123 4567, ۰۹۱۲…, ٠٩١٢…, landlines with an
    area code (021 8888 8888) and foreign numbers written with their country code.
    """
    import phonenumbers

    if raw is None or not str(raw).strip():
        raise ValidationError("a phone number is required", field=field)
    text = to_ascii_digits(str(raw)).strip()
    text = text.replace("\u200c", "").replace("\u200f", "").replace("\u200e", "")
    if not _ALLOWED.match(text):
        raise ValidationError(
            f"{raw!r} is not a phone number (only digits, spaces, dashes and + are allowed)",
            field=field,
        )
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        text = "+" + digits[2:]
    elif text.startswith("+"):
        text = "+" + digits
    else:
        text = digits
    if len(digits) < 5:
        raise ValidationError(f"{raw!r} is too short to be a phone number", field=field)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{raw!r} is not a phone number: {exc._msg}", field=field) from None
    if not phonenumbers.is_valid_number(number):
        hint = (
            ""
            if text.startswith("+")
            else f" (numbers without a country code are read as {region} numbers)"
        )
        raise ValidationError(f"{raw!r} is not a valid phone number{hint}", field=field)
    kind = phone_kind(phonenumbers.number_type(number))
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind)


def phone_kind(number_type: int) -> str:
    """The kernel's kind of a ``phonenumbers.PhoneNumberType``: mobile, landline or other."""
    return _phone_kinds().get(number_type, "other")


@lru_cache(maxsize=1)
def _phone_kinds() -> dict[int, str]:
    import phonenumbers

    t = phonenumbers.PhoneNumberType
    return {t.MOBILE: "mobile", t.FIXED_LINE: "landline", t.FIXED_LINE_OR_MOBILE: "mobile"}


def looks_like_phone(text: str) -> bool:
    """True when ``text`` is mostly digits (a search for a number rather than a name)."""
    t = to_ascii_digits(text or "")
    digits = sum(c.isdigit() for c in t)
    return digits >= 4 and digits >= 0.7 * len(re.sub(r"\s", "", t))
