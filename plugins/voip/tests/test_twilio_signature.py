"""Our X-Twilio-Signature check against the official twilio package's RequestValidator."""

from crmcore_voip.adapters.twilio import compute_signature, valid_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x6FF, exclude_characters="&="),
    min_size=1,
    max_size=12,
)
values = st.text(max_size=30)
urls = st.sampled_from(
    [
        "https://crm.example.ir/voip/twilio",
        "https://crm.example.ir:443/voip/twilio?x=1",
        "http://127.0.0.1:8088/voip/twilio?extension=101",
        "http://crm.local/voip/twilio",
    ]
)


@settings(max_examples=60)
@given(
    urls, st.dictionaries(names, values, max_size=8), st.sampled_from(["HMAC_SHA1", "HMAC_SHA256"])
)
def test_same_signature_as_twilio(url, params, algorithm):
    official = RequestValidator("secret-token").compute_signature(url, params, algorithm)
    assert compute_signature("secret-token", url, params.items(), algorithm) == official
    assert valid_signature(
        "secret-token",
        url,
        list(params.items()),
        official,
        settings_header=f"key=k,algorithm={algorithm}",
    )


@settings(max_examples=40)
@given(urls, st.dictionaries(names, values, min_size=1, max_size=6), values)
def test_any_changed_value_is_refused(url, params, new_value):
    signature = RequestValidator("secret-token").compute_signature(url, params)
    key = sorted(params)[0]
    changed = dict(params, **{key: new_value})
    expected = RequestValidator("secret-token").validate(url, changed, signature)
    assert valid_signature("secret-token", url, list(changed.items()), signature) == expected


def test_default_port_added_or_removed_as_twilio_does():
    v = RequestValidator("t")
    params = {"CallSid": "CA1"}
    sig = v.compute_signature("https://crm.example.ir:443/voip/twilio", params)
    assert valid_signature("t", "https://crm.example.ir/voip/twilio", list(params.items()), sig)
    sig = v.compute_signature("https://crm.example.ir/voip/twilio", params)
    assert valid_signature("t", "https://crm.example.ir:443/voip/twilio", list(params.items()), sig)


def test_json_bodies_are_checked_through_body_sha256():
    import hashlib

    body = b'{"CallSid": "CA1"}'
    url = f"https://crm.example.ir/voip/twilio?bodySHA256={hashlib.sha256(body).hexdigest()}"
    sig = RequestValidator("t").compute_signature(url, {})
    assert RequestValidator("t").validate(url, body.decode(), sig)
    assert valid_signature("t", url, [], sig, body=body)
    assert not valid_signature("t", url, [], sig, body=body + b" ")


def test_missing_signature_or_token_or_unknown_algorithm_is_invalid():
    assert not valid_signature("t", "https://x/", [], None)
    assert not valid_signature("", "https://x/", [], "abc")
    sig = RequestValidator("t").compute_signature("https://x/", {})
    assert not valid_signature("t", "https://x/", [], sig, settings_header="algorithm=HMAC_MD5")
