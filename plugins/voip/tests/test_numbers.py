import pytest
from crmcore_voip.config import VoipConfig
from crmcore_voip.numbers import normalize_caller
from hypothesis import given
from hypothesis import strategies as st

CFG = VoipConfig(area_code="21", trunk_prefixes=("9",))


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "989121234567",
        "+989121234567",
        "00989121234567",
        "+98 912 123 4567",
        "0912-123-4567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "909121234567",
        "sip:09121234567@pbx.local",
        "tel:+989121234567",
        '"Ali Rezaei" <09121234567>',
        "\u200e0912 123 4567",
    ],
)
def test_every_way_a_pbx_writes_a_mobile_gives_the_same_number(raw):
    n = normalize_caller(raw, CFG)
    assert (n.e164, n.kind) == ("+989121234567", "mobile")


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("88888888", "+982188888888"),  # local call: the PBX dropped the area code; configured 21
        ("2188888888", "+982188888888"),
        ("02188888888", "+982188888888"),
        ("0098 21 8888 8888", "+982188888888"),
        ("03133334444", "+983133334444"),  # Isfahan keeps its own area code
    ],
)
def test_landlines_with_and_without_area_codes(raw, e164):
    n = normalize_caller(raw, CFG)
    assert (n.e164, n.kind) == (e164, "landline")


def test_area_code_is_configurable():
    assert normalize_caller("33334444", VoipConfig(area_code="31")).e164 == "+983133334444"


def test_trunk_prefix_only_stripped_when_configured():
    assert normalize_caller("909121234567", VoipConfig()).e164 is None
    assert normalize_caller("909121234567", CFG).e164 == "+989121234567"


def test_foreign_numbers_keep_their_country():
    assert normalize_caller("+1 202 555 0147", CFG).e164 == "+12025550147"


@pytest.mark.parametrize(
    "raw, kind, says",
    [
        (None, "withheld", "withheld"),
        ("", "withheld", "withheld"),
        ("anonymous", "withheld", "withheld"),
        ("<unknown>", "withheld", "withheld"),
        ("101", "internal", "internal extension"),
        ("abc123", "invalid", "not a phone number"),
        ("0912-12x-4567", "invalid", "not a phone number"),
        ("12345678901234", "invalid", "not a valid phone number"),
    ],
)
def test_what_is_not_a_customer_number_says_why(raw, kind, says):
    n = normalize_caller(raw, CFG)
    assert n.e164 is None and n.kind == kind and says in n.reason


@given(st.text(max_size=40))
def test_never_raises_on_any_text(raw):
    n = normalize_caller(raw, CFG)
    assert (n.e164 is None) == (n.kind in ("withheld", "internal", "invalid"))


@given(
    st.integers(min_value=0, max_value=9999999),
    st.sampled_from(["912", "935", "901", "990"]),
    st.sampled_from(["0{}", "{}", "98{}", "+98{}", "0098{}", "90{}"]),
)
def test_any_mobile_in_any_format_normalises_identically(local, prefix, shape):
    national = f"{prefix}{local:07d}"
    assert normalize_caller(shape.format(national), CFG).e164 == "+98" + national
