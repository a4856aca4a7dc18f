"""A fast path for the phone shapes that fill real customer sheets (0912…, +98 912…, 912…).

It gives exactly what :func:`crmcore.domain.phones.parse_phone` gives (a property test checks it) but skips
the generic ``phonenumbers.parse`` step, which costs most of the time of an import: for the three Iranian
shapes the national number is known, so only libphonenumber's validity and type checks run — and those run
on Iran's metadata patterns compiled once here (:func:`iran_number_type` follows
``phonenumbers.number_type`` step by step; a property test compares the two). Anything else, and anything
the checks refuse, goes to the kernel's ``parse_phone`` so its exact error message is kept.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..domain.phones import DEFAULT_REGION, Phone, parse_phone, phone_kind
from ..domain.text import to_ascii_digits

_INVISIBLE = {0x200C: None, 0x200E: None, 0x200F: None}  # exactly what parse_phone drops
#: to_ascii_digits and dropping the invisible marks in one pass (to_ascii_digits maps nothing else)
_CLEAN = str.maketrans(
    {**{ord(c): to_ascii_digits(c) for c in "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"}, **_INVISIBLE}
)
#: what people type between the digits: every whitespace character (none lies beyond U+3000) and - . ( ) /
_SEPARATORS = "-.()/" + "".join(c for c in map(chr, range(0x3001)) if c.isspace())
#: _CLEAN and dropping the separators, in one pass: one ``str.translate`` instead of a translate, a strip
#: and a regular-expression substitution, a third of the time (benchmarks/row_checks.py)
_COMPACT = {**_CLEAN, **dict.fromkeys(map(ord, _SEPARATORS))}
# national number of an Iranian mobile or landline: 10 digits, not starting with 0 (and not 98…, which the
# generic parser may read as a country code)
_NATIONAL = re.compile(r"(?:\+98|0098|0)?([1-9]\d{9})")


@lru_cache(maxsize=1)
def _iran_patterns():
    """Iran's metadata compiled for :func:`iran_number_type`: the general description, then one alternation
    of the typed descriptions in the order ``phonenumbers._number_type_helper`` tries them (premium rate,
    toll free, …, fixed line, mobile). A regex alternation full-matches its first alternative that can match,
    which is exactly "the first description that matches"; each alternative carries its possible lengths
    as a lookahead, as phonenumbers checks the lengths before the pattern."""
    import phonenumbers
    from phonenumbers.phonemetadata import PhoneMetadata

    md = PhoneMetadata.metadata_for_region("IR")
    t = phonenumbers.PhoneNumberType

    def source(d) -> str | None:
        if d is None or not d.national_number_pattern:
            return None  # phonenumbers: a description without a pattern never matches
        lengths = "|".join(f"\\d{{{n}}}" for n in sorted(set(d.possible_length)))
        return (f"(?=(?:{lengths})\\Z)" if lengths else "") + f"(?:{d.national_number_pattern})"

    same = bool(md.same_mobile_and_fixed_line_pattern)
    typed = [
        (getattr(t, name), source(getattr(md, attr)))
        for name, attr in (
            ("PREMIUM_RATE", "premium_rate"),
            ("TOLL_FREE", "toll_free"),
            ("SHARED_COST", "shared_cost"),
            ("VOIP", "voip"),
            ("PERSONAL_NUMBER", "personal_number"),
            ("PAGER", "pager"),
            ("UAN", "uan"),
            ("VOICEMAIL", "voicemail"),
            ("FIXED_LINE", "fixed_line"),
        )
    ]
    if not same:
        typed.append((t.MOBILE, source(md.mobile)))
    typed = [(kind, src) for kind, src in typed if src is not None]
    alternation = re.compile("|".join(f"(?P<t{i}>{src})" for i, (_kind, src) in enumerate(typed)))
    kinds = {f"t{i}": kind for i, (kind, _src) in enumerate(typed)}
    general, mobile = source(md.general_desc), source(md.mobile)
    return (
        re.compile(general) if general else None,
        alternation,
        kinds,
        re.compile(mobile) if mobile else None,
        same,
        t,
    )


_PATTERNS: list = []  # _iran_patterns() once loaded (a cached call costs more than the lookups below)
_KINDS: dict[
    int, str
] = {}  # number type → the kernel's kind (phone_kind), filled as valid types are met


def _load_patterns() -> tuple:
    _PATTERNS[:] = _iran_patterns()
    return _PATTERNS


def iran_number_type(nsn: str) -> int:
    """``phonenumbers.number_type`` of +98 ``nsn`` (national significant number without its leading 0)."""
    general, alternation, kinds, mobile, same, t = _PATTERNS or _load_patterns()
    if general is None or general.fullmatch(nsn) is None:
        return t.UNKNOWN
    m = alternation.fullmatch(nsn)
    if m is None:
        return t.UNKNOWN
    kind = kinds[m.lastgroup]
    if kind == t.FIXED_LINE and (
        same or (mobile is not None and mobile.fullmatch(nsn) is not None)
    ):
        return t.FIXED_LINE_OR_MOBILE
    return kind


def fast_parse_phone(raw: str, *, field: str = "phone") -> Phone:
    """:func:`parse_phone` with region IR, faster for the common shapes; same result, same errors."""
    compact = str(raw).translate(_COMPACT) if raw is not None else ""
    m = _NATIONAL.fullmatch(compact)
    if m is None or (compact[0] not in "+0" and compact.startswith("98")):
        return parse_phone(raw, region=DEFAULT_REGION, field=field)
    national = m.group(1)
    # +98 belongs to one region only, so "valid" is exactly "has a known type" (the property test checks it)
    ntype = iran_number_type(national)
    kind = _KINDS.get(ntype)
    if kind is None:  # a type met for the first time, or no type at all
        import phonenumbers

        if (
            ntype == phonenumbers.PhoneNumberType.UNKNOWN
        ):  # not valid: parse_phone gives its exact error
            return parse_phone(raw, region=DEFAULT_REGION, field=field)
        kind = _KINDS[ntype] = phone_kind(ntype)
    return Phone("+98" + national, kind)
