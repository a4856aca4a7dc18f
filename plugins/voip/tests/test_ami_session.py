"""The AMI session against a real TCP server speaking AMI (tests/conftest.py FakePBX)."""

import asyncio
import itertools
import random

import pytest
from crmcore_voip.adapters.ami_client import AMIAuthError, AMIError, AMISession, Backoff, originate

FAST = Backoff(initial=0.01, maximum=0.05)


def collect(
    port, *, max_connections, secret="s3cret", keepalive=20.0, action_timeout=5.0, **kwargs
):
    got = []

    async def main():
        s = AMISession(
            "127.0.0.1",
            port,
            "crm",
            secret,
            on_event=got.append,
            backoff=FAST,
            max_connections=max_connections,
            keepalive=keepalive,
            action_timeout=action_timeout,
            **kwargs,
        )
        await asyncio.wait_for(s.run(), timeout=10)
        return s

    return asyncio.run(main()), got


def test_banner_login_and_events(fake_pbx, ami_frame, ami_drop):
    pbx = fake_pbx(
        [[ami_frame(Event="FullyBooted"), ami_frame(Event="Newchannel", Uniqueid="1.1"), ami_drop]]
    )
    session, got = collect(pbx.port, max_connections=1)
    assert session.banner == "Asterisk Call Manager/5.0.1"
    assert [m.event for m in got] == ["FullyBooted", "Newchannel"]
    login = pbx.actions[0][1]
    assert (login["Action"], login["Username"], login["Secret"], login["Events"]) == (
        "Login",
        "crm",
        "s3cret",
        "on",
    )


def test_dropped_connection_reconnects_and_resumes(fake_pbx, ami_frame, ami_drop):
    pbx = fake_pbx(
        [
            [ami_frame(Event="Newchannel", Uniqueid="1.1"), ami_drop],
            [ami_frame(Event="Hangup", Uniqueid="1.1"), ami_drop],
            [ami_frame(Event="Newchannel", Uniqueid="2.1"), ami_drop],
        ]
    )
    session, got = collect(pbx.port, max_connections=3)
    assert [(m.event, m.get("Uniqueid")) for m in got] == [
        ("Newchannel", "1.1"),
        ("Hangup", "1.1"),
        ("Newchannel", "2.1"),
    ]
    assert pbx.logins == 3 and session.connections == 3


def test_half_a_frame_then_a_drop_loses_only_that_frame(fake_pbx, ami_frame, ami_drop):
    pbx = fake_pbx(
        [
            [ami_frame(Event="Newchannel", Uniqueid="1.1") + "Event: Hangup\r\nUniq", ami_drop],
            [ami_frame(Event="Hangup", Uniqueid="1.1"), ami_drop],
        ]
    )
    _, got = collect(pbx.port, max_connections=2)
    assert [(m.event, m.get("Uniqueid")) for m in got] == [("Newchannel", "1.1"), ("Hangup", "1.1")]


def test_malformed_frames_do_not_end_the_session(fake_pbx, ami_frame, ami_drop):
    pbx = fake_pbx(
        [
            [
                "garbage without colon\r\n\r\n",
                "\x00\x01\x02\r\n",
                "Key: v\r\n\r\n",
                ami_frame(Event="Hangup", Uniqueid="1.1"),
                ami_drop,
            ]
        ]
    )
    _, got = collect(pbx.port, max_connections=1)
    assert [m.event for m in got] == ["Hangup"]


def test_refused_login_stops_with_a_clear_error(fake_pbx):
    pbx = fake_pbx([])
    with pytest.raises(AMIAuthError, match="login as 'crm' refused: Authentication failed"):
        collect(pbx.port, max_connections=1, secret="wrong")
    assert pbx.connections == 1  # no hammering the PBX with a wrong password


def test_unanswered_keepalive_reconnects(fake_pbx, ami_frame):
    pbx = fake_pbx(
        [[ami_frame(Event="FullyBooted")], [ami_frame(Event="FullyBooted")]], answer_pings=False
    )
    session, got = collect(pbx.port, max_connections=2, keepalive=0.05, action_timeout=0.1)
    assert pbx.connections == 2 and session.connections == 2
    assert "Ping" in pbx.action_names()


def test_answered_keepalive_keeps_the_connection(fake_pbx, ami_frame):
    pbx = fake_pbx([[ami_frame(Event="FullyBooted")]])

    async def main():
        s = AMISession(
            "127.0.0.1",
            pbx.port,
            "crm",
            "s3cret",
            on_event=lambda m: None,
            keepalive=0.02,
            backoff=FAST,
        )
        task = asyncio.create_task(s.run())
        await asyncio.sleep(0.3)
        s.stop()
        await asyncio.wait_for(task, 5)
        return s

    asyncio.run(main())
    assert pbx.action_names().count("Ping") >= 3 and pbx.connections == 1


def test_unreachable_pbx_backs_off_then_gives_up():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now

    async def main():
        s = AMISession(
            "127.0.0.1", port, "crm", "x", on_event=lambda m: None, backoff=FAST, max_attempts=3
        )
        with pytest.raises(AMIError, match="after 3 attempt"):
            await s.run()
        return s

    assert asyncio.run(main()).failed_attempts == 3


def test_backoff_doubles_up_to_the_maximum_with_jitter():
    delays = list(
        itertools.islice(Backoff(initial=1, maximum=10, jitter=0.1).delays(random.Random(1)), 6)
    )
    assert all(0.9 * b <= d <= 1.1 * b for d, b in zip(delays, [1, 2, 4, 8, 10, 10]))


def test_originate_click_to_call(fake_pbx):
    pbx = fake_pbx([])
    reply = asyncio.run(
        originate(
            "127.0.0.1",
            pbx.port,
            "crm",
            "s3cret",
            channel="PJSIP/101",
            exten="09121234567",
            context="from-internal",
            caller_id="مریم <09121234567>",
        )
    )
    assert reply.get("Message") == "Originate successfully queued"
    sent = dict(next(a for _, a in pbx.actions if a["Action"] == "Originate"))
    assert (sent["Channel"], sent["Exten"], sent["Context"], sent["Priority"], sent["Async"]) == (
        "PJSIP/101",
        "09121234567",
        "from-internal",
        "1",
        "true",
    )
    assert sent["CallerID"] == "مریم <09121234567>"
    assert pbx.action_names()[-1] == "Logoff"


def test_originate_refused_says_so(fake_pbx):
    pbx = fake_pbx([])
    with pytest.raises(AMIError, match="refused the call: Originate failed"):
        asyncio.run(
            originate(
                "127.0.0.1", pbx.port, "crm", "s3cret", channel="SIP/101", exten="0912", context="x"
            )
        )
