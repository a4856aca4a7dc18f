"""Real HTTP requests (httpx) to the webhook endpoint served by uvicorn on 127.0.0.1; Twilio signatures made
by the official ``twilio`` package's RequestValidator."""

import json
import socket
import threading
import time
from urllib.parse import urlencode

import attrs
import httpx
import pytest
import uvicorn
from crmcore_voip.adapters.generic_webhook import sign
from crmcore_voip.models import Call, FollowUp
from crmcore_voip.webapp import create_app
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from crmcore.testing import make_customer, outbox_events

TOKEN = "twilio-token-123"


@pytest.fixture
def serve():
    running = []

    def start(crm, **kwargs):
        pops = []
        web = create_app(crm, on_pop=pops.append, **kwargs)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(web, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.01)
        running.append((server, thread, sock))
        return f"http://127.0.0.1:{port}", pops

    yield start
    for server, thread, sock in running:
        server.should_exit = True
        thread.join(5)
        sock.close()


def calls(app):
    with app.unit_of_work(readonly=True) as uow:
        found = list(uow.session.scalars(select(Call).order_by(Call.id)))
        uow.session.expunge_all()
        return found


def twilio_post(url, params, *, token=TOKEN, algorithm=None, sign_url=None, tamper=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        validator = RequestValidator(token)
        headers["X-Twilio-Signature"] = validator.compute_signature(
            sign_url or url, params, algorithm
        )
    if algorithm:
        headers["X-Twilio-Webhooks-Signature-Settings"] = (
            f"key=webhooks_sharedkey_1,algorithm={algorithm}"
        )
    body = dict(params, **(tamper or {}))
    return httpx.post(url, content=urlencode(body), headers=headers, timeout=10)


def status(sid, call_status, **extra):
    return {
        "AccountSid": "AC123",
        "CallSid": sid,
        "From": "+989121234567",
        "To": "+982191001000",
        "Direction": "inbound",
        "CallStatus": call_status,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def test_signed_twilio_callbacks_log_the_call_and_pop(app, serve):
    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    base, pops = serve(app)
    url = base + "/voip/twilio?extension=101"
    r = twilio_post(url, status("CA1", "ringing"))
    assert (
        r.status_code == 200
        and r.headers["content-type"].startswith("text/xml")
        and "<Response>" in r.text
    )
    assert [p["customer"]["name"] for p in pops] == ["مریم رضایی"] and pops[0]["extension"] == "101"
    r = twilio_post(
        url,
        status(
            "CA1", "completed", CallDuration="75", RecordingUrl="https://api.twilio.com/rec/RE1"
        ),
    )
    assert r.status_code == 200
    [call] = calls(app)
    assert (call.call_key, call.status, call.talk_seconds, call.customer_id, call.answered_by) == (
        "twilio:CA1",
        "completed",
        75,
        cid,
        "101",
    )
    assert call.recording_url == "https://api.twilio.com/rec/RE1"
    r = twilio_post(
        url, status("CA1", "completed", CallDuration="75")
    )  # Twilio retries: nothing new
    assert r.status_code == 200 and len(calls(app)) == 1
    assert len(outbox_events(app, "voip_call_ended")) == 1


def test_sha256_signatures_of_shared_keys_are_accepted(app, serve):
    base, _ = serve(app)
    r = twilio_post(base + "/voip/twilio", status("CA2", "no-answer"), algorithm="HMAC_SHA256")
    assert r.status_code == 200
    assert [c.status for c in calls(app)] == ["missed"]


def test_missed_twilio_call_creates_a_follow_up(app, serve):
    make_customer(app, "مریم", phones=["09121234567"])
    base, _ = serve(app)
    assert twilio_post(base + "/voip/twilio", status("CA3", "busy")).status_code == 200
    with app.unit_of_work(readonly=True) as uow:
        assert [f.via for f in uow.session.scalars(select(FollowUp))] == ["voip"]


@pytest.mark.parametrize("case", ["unsigned", "tampered", "wrong token", "other url"])
def test_unsigned_or_tampered_twilio_requests_are_refused_and_nothing_is_stored(
    app, serve, case, caplog
):
    base, pops = serve(app)
    url = base + "/voip/twilio"
    kwargs = {
        "unsigned": dict(token=None),
        "tampered": dict(tamper={"From": "+989350000000"}),
        "wrong token": dict(token="not-the-token"),
        "other url": dict(sign_url=base + "/voip/twilio?extension=999"),
    }[case]
    r = twilio_post(url, status("CA4", "ringing"), **kwargs)
    assert r.status_code == 403
    assert "X-Twilio-Signature" in r.json()["error"]
    assert calls(app) == [] and pops == []
    assert "refused (403)" in caplog.text


def test_public_url_behind_a_proxy(app, serve, voip_config):
    app.voip_config = attrs.evolve(voip_config, public_url="https://crm.example.ir")
    base, _ = serve(app)
    params = status("CA5", "ringing")
    ok = twilio_post(base + "/voip/twilio", params, sign_url="https://crm.example.ir/voip/twilio")
    assert ok.status_code == 200
    assert twilio_post(base + "/voip/twilio", status("CA6", "ringing")).status_code == 403


def test_twilio_not_configured_refuses_everything(app, serve, voip_config):
    app.voip_config = attrs.evolve(voip_config, twilio_auth_token=None)
    base, _ = serve(app)
    r = twilio_post(base + "/voip/twilio", status("CA7", "ringing"))
    assert r.status_code == 503 and "CRM_VOIP_TWILIO_AUTH_TOKEN" in r.json()["error"]


def test_signed_request_with_an_unknown_status_is_refused_clearly(app, serve):
    base, _ = serve(app)
    r = twilio_post(base + "/voip/twilio", status("CA8", "teleported"))
    assert r.status_code == 422 and "'teleported' is not a Twilio call status" in r.json()["error"]


# --- the generic JSON webhook ---------------------------------------------------------------------------
def post_json(
    base, payload, *, secret="hook-secret", timestamp=None, app=None, body=None, signature=None
):
    raw = body if body is not None else json.dumps(payload).encode()
    ts = str(timestamp if timestamp is not None else int(app.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "X-CRM-Timestamp": ts,
        "X-CRM-Signature": signature or sign(secret, ts, raw),
    }
    return httpx.post(base + "/voip/webhook", content=raw, headers=headers, timeout=10)


def test_generic_webhook_batch(app, serve):
    cid = make_customer(app, "علی", phones=["02188888888"])
    base, pops = serve(app)
    events = [
        {
            "event": "ringing",
            "call_id": "3cx-1",
            "at": "2025-03-21T12:30:00+03:30",
            "caller": "88888888",
            "extension": "104",
        },
        {
            "event": "answered",
            "call_id": "3cx-1",
            "at": "2025-03-21T12:30:09+03:30",
            "agent": "زهرا",
        },
        {
            "event": "hangup",
            "call_id": "3cx-1",
            "at": "2025-03-21T09:03:09Z",
            "recording_url": "https://pbx/r.wav",
        },
    ]
    r = post_json(base, events, app=app)
    assert r.status_code == 200 and r.json() == {"ok": True, "events": 3}
    [call] = calls(app)
    assert (call.customer_id, call.answered_by, call.status, call.extension) == (
        cid,
        "زهرا",
        "completed",
        "104",
    )
    assert (call.ring_seconds, call.talk_seconds, call.recording_url) == (
        9,
        180,
        "https://pbx/r.wav",
    )
    assert pops[0]["customer"]["id"] == cid


def test_generic_webhook_with_a_not_a_number_caller_is_logged(app, serve):
    base, pops = serve(app)
    r = post_json(base, {"event": "missed", "call_id": "x-1", "caller": "unknown-caller!"}, app=app)
    assert r.status_code == 200
    [call] = calls(app)
    assert (call.party_kind, call.status, call.caller) == ("invalid", "missed", "unknown-caller!")


@pytest.mark.parametrize(
    "case, code, says",
    [
        ("unsigned", 401, "unsigned request"),
        ("tampered", 401, "does not match the body"),
        ("wrong secret", 401, "does not match the body"),
        ("replayed", 401, "more than 300 s"),
        ("not json", 400, "not JSON"),
        ("bad field", 422, "events[1].direction must be in or out"),
        ("bad time", 422, "events[0].at '21/03/2025' is not an ISO 8601 time"),
        ("no call id", 422, "events[0].call_id is required"),
    ],
)
def test_generic_webhook_refuses_bad_requests_and_stores_nothing(app, serve, case, code, says):
    base, _ = serve(app)
    good = [
        {"event": "ringing", "call_id": "g-1", "caller": "09121234567"},
        {"event": "hangup", "call_id": "g-1"},
    ]
    now = int(app.now().timestamp())
    if case == "unsigned":
        r = httpx.post(base + "/voip/webhook", json=good, timeout=10)
    elif case == "tampered":
        raw = json.dumps(good).encode()
        r = post_json(
            base,
            None,
            body=raw.replace(b"0912", b"0935"),
            signature=sign("hook-secret", str(now), raw),
            timestamp=now,
        )
    elif case == "wrong secret":
        r = post_json(base, good, secret="guess", app=app)
    elif case == "replayed":
        r = post_json(base, good, timestamp=now - 3600)
    elif case == "not json":
        r = post_json(base, None, body=b"{not json", app=app)
    elif case == "bad field":
        r = post_json(
            base, [good[0], {"event": "hangup", "call_id": "g-1", "direction": "sideways"}], app=app
        )
    elif case == "bad time":
        r = post_json(base, [{"event": "ringing", "call_id": "g-2", "at": "21/03/2025"}], app=app)
    else:
        r = post_json(base, [{"event": "ringing"}], app=app)
    assert r.status_code == code
    assert says in r.json()["error"]
    assert calls(app) == []
