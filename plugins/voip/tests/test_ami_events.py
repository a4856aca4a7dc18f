from datetime import datetime, timezone

from crmcore_voip.adapters.ami_events import AMICallTracker
from crmcore_voip.adapters.ami_protocol import FrameParser
from crmcore_voip.config import VoipConfig


def run(frames, tracker=None):
    tracker = tracker or AMICallTracker(VoipConfig())
    parser = FrameParser()
    events = [e for f in frames for m in parser.feed(f.encode()) for e in tracker.feed(m)]
    return events, tracker


def test_inbound_answered_call(ami_calls):
    events, tracker = run(ami_calls.inbound("1742547600.10", "09121234567", "101"))
    assert [e.kind for e in events] == ["ringing", "answered", "hangup"]
    ring, answer, hang = events
    assert (ring.call_id, ring.caller, ring.callee, ring.extension, ring.direction) == (
        "1742547600.10",
        "09121234567",
        "02191001000",
        "101",
        "in",
    )
    assert ring.at == datetime(2025, 3, 21, 9, 0, 0, 200000, tzinfo=timezone.utc)
    assert answer.agent == "101" and (answer.at - ring.at).total_seconds() == 6.8
    assert hang.cause == "Normal Clearing" and (hang.at - answer.at).total_seconds() == 95
    assert tracker.calls == {} and tracker.channel_call == {}  # nothing kept once the call ended


def test_inbound_missed_call(ami_calls):
    events, _ = run(ami_calls.inbound("1742547600.11", "09121234567", "102", answer=False))
    assert [e.kind for e in events] == ["ringing", "hangup"]
    assert events[1].cause == "No answer"


def test_duplicated_events_produce_nothing_new(ami_calls):
    frames = ami_calls.inbound("1742547600.12", "09121234567")
    doubled = [f for f in frames for _ in range(2)]
    events, _ = run(doubled)
    assert [e.kind for e in events] == ["ringing", "answered", "hangup"]


def test_outbound_call_from_an_extension(ami_frame):
    f = ami_frame
    frames = [
        f(
            Event="Newchannel",
            Channel="PJSIP/103-1",
            CallerIDNum="103",
            Exten="09351112233",
            Uniqueid="5.1",
            Linkedid="5.1",
        ),
        f(
            Event="DialBegin",
            Channel="PJSIP/103-1",
            Uniqueid="5.1",
            Linkedid="5.1",
            DestChannel="PJSIP/trunk-2",
            DestCallerIDNum="09351112233",
            DestUniqueid="5.2",
            DialString="trunk/09351112233",
        ),
        f(
            Event="DialEnd",
            Channel="PJSIP/103-1",
            Uniqueid="5.1",
            Linkedid="5.1",
            DestUniqueid="5.2",
            DestCallerIDNum="09351112233",
            DialStatus="ANSWER",
        ),
        f(Event="Hangup", Channel="PJSIP/103-1", Uniqueid="5.1", Linkedid="5.1", Cause="16"),
    ]
    events, _ = run(frames)
    assert [e.kind for e in events] == ["ringing", "answered", "hangup"]
    assert (events[0].direction, events[0].extension, events[0].callee) == (
        "out",
        "103",
        "09351112233",
    )


def test_older_asterisk_dial_and_link_events(ami_frame):
    f = ami_frame  # Asterisk 1.8: no Linkedid; Dial with SubEvent; Bridge/Link
    frames = [
        f(
            Event="Newchannel",
            Channel="SIP/trunk-1",
            CallerIDNum="9121234567",
            Exten="100",
            Uniqueid="7.1",
        ),
        f(
            Event="Dial",
            SubEvent="Begin",
            Channel="SIP/trunk-1",
            Destination="SIP/104-2",
            CallerIDNum="9121234567",
            UniqueID="7.1",
            DestUniqueID="7.2",
            Dialstring="104",
        ),
        f(
            Event="Bridge",
            Bridgestate="Link",
            Channel1="SIP/trunk-1",
            Channel2="SIP/104-2",
            Uniqueid1="7.1",
            Uniqueid2="7.2",
            CallerID1="9121234567",
            CallerID2="104",
        ),
        f(Event="Dial", SubEvent="End", Channel="SIP/trunk-1", UniqueID="7.1", DialStatus="ANSWER"),
        f(Event="Hangup", Channel="SIP/104-2", Uniqueid="7.2", Cause="16"),
        f(Event="Hangup", Channel="SIP/trunk-1", Uniqueid="7.1", Cause="16"),
    ]
    events, _ = run(frames)
    assert [e.kind for e in events] == ["ringing", "answered", "hangup"]
    assert all(e.call_id == "7.1" for e in events)
    assert events[0].extension == "104" and events[1].agent == "104"


def test_asterisk_14_link_event(ami_frame):
    f = ami_frame
    frames = [
        f(Event="Newchannel", Channel="SIP/trunk-1", CallerIDNum="09121234567", Uniqueid="8.1"),
        f(
            Event="Dial",
            Source="SIP/trunk-1",
            Destination="SIP/105-2",
            SrcUniqueID="8.1",
            DestUniqueID="8.2",
        ),
        f(
            Event="Link",
            Channel1="SIP/trunk-1",
            Channel2="SIP/105-2",
            Uniqueid1="8.1",
            Uniqueid2="8.2",
            CallerID1="09121234567",
            CallerID2="105",
        ),
        f(Event="Hangup", Channel="SIP/trunk-1", Uniqueid="8.1"),
    ]
    events, _ = run(frames)
    assert [e.kind for e in events] == ["ringing", "answered", "hangup"]
    assert events[1].agent == "105"


def test_agent_leg_hangup_does_not_end_the_call(ami_calls, ami_frame):
    frames = ami_calls.inbound("9.1", "09121234567")
    without_root_hangup = frames[:-1]
    events, tracker = run(without_root_hangup)
    assert [e.kind for e in events] == ["ringing", "answered"]
    assert "9.1" in tracker.calls


def test_events_of_a_call_seen_mid_way_start_it(ami_frame):
    f = ami_frame  # we connected after Newchannel: the first thing seen is DialBegin
    frames = [
        f(
            Event="DialBegin",
            Channel="PJSIP/trunk-1",
            CallerIDNum="09121234567",
            Exten="02191001000",
            Uniqueid="3.1",
            Linkedid="3.1",
            DestChannel="PJSIP/101-2",
            DestCallerIDNum="101",
            DestUniqueid="3.2",
        ),
        f(Event="Hangup", Channel="PJSIP/trunk-1", Uniqueid="3.1", Linkedid="3.1", Cause="16"),
    ]
    events, _ = run(frames)
    assert [(e.kind, e.caller, e.extension) for e in events] == [
        ("ringing", "09121234567", "101"),
        ("hangup", "09121234567", "101"),
    ]


def test_broken_events_are_ignored_with_a_log_line(ami_frame, caplog):
    f = ami_frame
    frames = [
        f(Event="Newchannel", Channel="x"),
        f(Event="Hangup", Channel="x"),
        f(Event="DialBegin", Channel="x"),
        f(
            Event="Newchannel",
            Uniqueid="4.1",
            Linkedid="4.1",
            CallerIDNum="09121234567",
            Timestamp="soon",
        ),
        f(Event="BridgeEnter", Uniqueid="4.1", Linkedid="4.1", BridgeNumChannels="lots"),
    ]
    events, _ = run(frames)
    assert events == []
    assert "without Uniqueid" in caplog.text and "unreadable Timestamp" in caplog.text


def test_a_hangup_repeated_after_the_call_ended_is_ignored(ami_calls):
    frames = ami_calls.inbound("2.1", "09121234567", answer=False)
    events, tracker = run(frames + [frames[-1]])
    assert [e.kind for e in events] == ["ringing", "hangup"]


def test_snapshot_after_reconnect_learns_active_calls_and_forgets_gone_ones(ami_frame):
    f = ami_frame
    tracker = AMICallTracker(VoipConfig())
    run([f(Event="Newchannel", Uniqueid="6.1", Linkedid="6.1", CallerIDNum="09121234567")], tracker)
    tracker.begin_snapshot()
    events, _ = run(
        [
            f(
                Event="CoreShowChannel",
                Uniqueid="6.9",
                Linkedid="6.9",
                CallerIDNum="09351112233",
                ChannelStateDesc="Up",
                BridgeId="b1",
                ConnectedLineNum="101",
            )
        ],
        tracker,
    )
    assert tracker.end_snapshot() == {"6.9"}
    assert [e.kind for e in events] == ["ringing", "answered"] and events[1].agent == "101"
    assert set(tracker.calls) == {"6.9"}
