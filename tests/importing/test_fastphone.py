"""The import's phone fast path must give exactly what the kernel's parse_phone gives, errors included."""

from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.api import ValidationError, parse_phone
from crmcore.importing.fastphone import fast_parse_phone


def outcome(fn, raw):
    try:
        return fn(raw)
    except ValidationError as exc:
        return ("error", str(exc))


PREFIXES = st.sampled_from(["", "0", "+98", "0098", "98", "+98 ", "0098 ", "+", "00", "+980", "09"])
DIGITS = st.text(alphabet="0123456789", min_size=6, max_size=12)
SEPARATED = st.builds(
    lambda p, d, sep: p + sep.join([d[:3], d[3:6], d[6:]]),
    PREFIXES,
    DIGITS,
    st.sampled_from(["", " ", "-", ".", " - "]),
)
PERSIAN = SEPARATED.map(lambda t: t.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
MOBILES = st.builds(lambda p, n: p + n, PREFIXES, st.from_regex(r"9[0-9]{9}", fullmatch=True))


@settings(max_examples=600, deadline=None)
@given(st.one_of(SEPARATED, PERSIAN, MOBILES, st.text(max_size=16)))
def test_fast_path_equals_parse_phone(raw):
    assert outcome(fast_parse_phone, raw) == outcome(parse_phone, raw)


def test_known_shapes():
    for raw in [
        "09121234567",
        "+98 912 123 4567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "00989121234567",
        "9121234567",
        "0912-123-4567",
    ]:
        assert fast_parse_phone(raw).e164 == "+989121234567"
    assert fast_parse_phone("021 8888 8888").kind == "landline"
    assert outcome(fast_parse_phone, "12345") == outcome(parse_phone, "12345")


@settings(max_examples=1500, deadline=None)
@given(st.from_regex(r"[1-9][0-9]{5,11}", fullmatch=True))
def test_iran_number_type_equals_phonenumbers(nsn):
    import phonenumbers

    from crmcore.importing.fastphone import iran_number_type

    number = phonenumbers.PhoneNumber(country_code=98, national_number=int(nsn))
    assert iran_number_type(nsn) == phonenumbers.number_type(number)


def test_iran_number_type_on_every_prefix():
    """Every 4-digit prefix of a 10-digit number: the precompiled patterns agree with phonenumbers."""
    import phonenumbers

    from crmcore.importing.fastphone import iran_number_type

    for prefix in range(1000, 10000):
        for tail in ("000000", "123456", "999999", "505050"):
            nsn = f"{prefix}{tail}"
            number = phonenumbers.PhoneNumber(country_code=98, national_number=int(nsn))
            assert iran_number_type(nsn) == phonenumbers.number_type(number), nsn


def test_the_one_pass_cleaning_equals_to_ascii_digits_then_dropping_the_marks():
    from crmcore.domain.text import to_ascii_digits
    from crmcore.importing.fastphone import _CLEAN, _INVISIBLE

    text = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)
    assert text.translate(_CLEAN) == to_ascii_digits(text).translate(_INVISIBLE)


def test_the_one_pass_compaction_equals_cleaning_stripping_and_dropping_separators():
    """``_COMPACT`` does in one ``translate`` what the digits' cleaning, ``strip`` and a ``[\\s\\-.()/]+``
    substitution did; and no whitespace character lies beyond the range its table was built from."""
    import re
    import sys

    from crmcore.importing.fastphone import _CLEAN, _COMPACT

    separators = re.compile(r"[\s\-.()/]+")
    assert not [c for c in range(0x3001, sys.maxunicode + 1) if chr(c).isspace()]
    text = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)
    for chunk in (
        text,
        " ۰۹۱۲ (123) 45-67 ",
        "\u2003+98\u200c912.123/4567\n",
        "\u3000a b\tc\u00a0",
    ):
        assert chunk.translate(_COMPACT) == separators.sub("", chunk.translate(_CLEAN).strip())
