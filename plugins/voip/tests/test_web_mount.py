"""The webhooks served inside ``crm web`` (``crm_web_routes`` → a public ``WebMount``): signed requests to
``/hooks/voip/voip/twilio`` and ``…/voip/webhook`` are accepted and stored, unsigned or forged ones refused."""

import json
import warnings
from urllib.parse import urlencode

import attrs
import pytest
from crmcore_voip.adapters.generic_webhook import sign
from crmcore_voip.models import Call
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from crmcore.testing import make_customer, outbox_events

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from starlette.testclient import TestClient  # noqa: E402

from crmcore.testing import (
    WebSettings,  # noqa: E402
    create_app,  # noqa: E402
)

TOKEN = "twilio-token-123"
BASE = "http://testserver"
TWILIO = "/hooks/voip/voip/twilio"


def web(app):
    return TestClient(create_app(app, WebSettings(secret="test-secret")), base_url=BASE)


def ringing(sid):
    return {
        "AccountSid": "AC123",
        "CallSid": sid,
        "From": "+989121234567",
        "To": "+982191001000",
        "Direction": "inbound",
        "CallStatus": "ringing",
        "ApiVersion": "2010-04-01",
    }


def twilio_post(client, path, params, *, sign_url=None, token=TOKEN, tamper=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            sign_url or BASE + path, params
        )
    return client.post(path, content=urlencode(dict(params, **(tamper or {}))), headers=headers)


def call_count(app):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Call))


def test_a_signed_twilio_callback_through_crm_web_logs_the_call_and_pops(app):
    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    with web(app) as client:
        r = twilio_post(client, TWILIO + "?extension=101", ringing("CA1"))
    assert (
        r.status_code == 200
        and r.headers["content-type"].startswith("text/xml")
        and "<Response>" in r.text
    )
    with app.unit_of_work(readonly=True) as uow:
        [call] = uow.session.scalars(select(Call)).all()
        assert (call.call_key, call.customer_id, call.extension) == ("twilio:CA1", cid, "101")
    [pop] = outbox_events(app, "voip_incoming_call")  # what the web's caller-ID stream sends
    assert pop["customer_id"] == cid and pop["payload"]["extension"] == "101"


@pytest.mark.parametrize(
    "case", ["unsigned", "tampered", "wrong token", "signed for the port of crm voip serve"]
)
def test_unsigned_or_forged_twilio_requests_are_refused_and_store_nothing(app, case):
    kwargs = {
        "unsigned": dict(token=None),
        "tampered": dict(tamper={"From": "+989350000000"}),
        "wrong token": dict(token="not-the-token"),
        "signed for the port of crm voip serve": dict(sign_url=BASE + "/voip/twilio"),
    }[case]
    with web(app) as client:
        r = twilio_post(client, TWILIO, ringing("CA2"), **kwargs)
    assert r.status_code == 403 and "X-Twilio-Signature" in r.json()["error"]
    assert call_count(app) == 0 and outbox_events(app, "voip_incoming_call") == []


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(app, voip_config):
    app.voip_config = attrs.evolve(voip_config, public_url="https://crm.example.ir")
    with web(app) as client:
        ok = twilio_post(client, TWILIO, ringing("CA3"), sign_url="https://crm.example.ir" + TWILIO)
        assert ok.status_code == 200
        assert (
            twilio_post(client, TWILIO, ringing("CA4")).status_code == 403
        )  # signed for the inner address
    assert call_count(app) == 1


def test_the_signed_json_webhook_through_crm_web(app):
    raw = json.dumps(
        [
            {
                "event": "ringing",
                "call_id": "3cx-1",
                "at": "2025-03-21T12:30:00+03:30",
                "caller": "09121234567",
                "extension": "104",
            }
        ]
    ).encode()
    ts = str(int(app.now().timestamp()))
    with web(app) as client:
        unsigned = client.post(
            "/hooks/voip/voip/webhook", content=raw, headers={"Content-Type": "application/json"}
        )
        assert unsigned.status_code == 401 and call_count(app) == 0
        ok = client.post(
            "/hooks/voip/voip/webhook",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-CRM-Timestamp": ts,
                "X-CRM-Signature": sign("hook-secret", ts, raw),
            },
        )
    assert ok.json() == {"ok": True, "events": 1} and call_count(app) == 1


def test_only_the_webhooks_are_public(app):
    with web(app) as client:
        assert (
            client.get("/api/customers").status_code == 401
        )  # the rest of crm web still needs a login
        assert client.get("/hooks/voip/voip/twilio").status_code == 405


def test_the_health_check_tells_anonymous_callers_nothing_about_calls(app):
    make_customer(app, "مریم رضایی", phones=["09121234567"])
    with web(app) as client:
        assert twilio_post(client, TWILIO, ringing("CA9")).status_code == 200
        health = client.get("/hooks/voip/voip/health")
    assert health.status_code == 200 and health.json() == {"ok": True}
