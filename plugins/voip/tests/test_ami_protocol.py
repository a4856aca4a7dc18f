from crmcore_voip.adapters.ami_protocol import FrameParser, encode_action
from hypothesis import given
from hypothesis import strategies as st

STREAM = (
    b"Event: Newchannel\r\nPrivilege: call,all\r\nUniqueid: 1.1\r\nCallerIDNum: 09121234567\r\n\r\n"
    b"Response: Success\r\nActionID: crm-1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nValue: x: y\r\n\r\n"
)


def test_messages_and_fields():
    msgs = FrameParser().feed(STREAM)
    assert [m.event or m.response for m in msgs] == ["Newchannel", "Success", "VarSet"]
    assert msgs[0].get("uniqueid") == msgs[0].get("UniqueID") == "1.1"
    assert msgs[1].action_id == "crm-1"
    assert msgs[2].getall("ChanVariable") == ["A=1", "B=2"]
    assert msgs[2].get("Value") == "x: y"  # only the first colon separates


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=8))
def test_any_split_of_the_stream_gives_the_same_messages(cuts):
    parser = FrameParser()
    pieces, last = [], 0
    for cut in sorted(set(cuts)):
        pieces.append(STREAM[last:cut])
        last = cut
    pieces.append(STREAM[last:])
    got = [m for p in pieces for m in parser.feed(p)]
    assert [m.headers for m in got] == [m.headers for m in FrameParser().feed(STREAM)]


def test_bare_newlines_are_accepted():
    msgs = FrameParser().feed(b"Event: Hangup\nUniqueid: 9\n\n")
    assert msgs[0].event == "Hangup" and msgs[0].get("Uniqueid") == "9"


def test_malformed_lines_are_skipped_and_counted(caplog):
    parser = FrameParser()
    msgs = parser.feed(
        b"Event: Hangup\r\nthis is garbage\r\n: no key\r\n\xff\xfe: \x00\r\nUniqueid: 7\r\n\r\n"
    )
    assert [m.event for m in msgs] == ["Hangup"] and msgs[0].get("Uniqueid") == "7"
    assert parser.malformed_lines == 2
    assert "malformed line" in caplog.text


def test_messages_without_event_or_response_are_dropped():
    parser = FrameParser()
    assert parser.feed(b"Foo: bar\r\n\r\nEvent: Ok\r\n\r\n")[0].event == "Ok"
    assert parser.dropped_frames == 1


def test_oversized_frames_are_dropped_and_the_stream_recovers():
    parser = FrameParser(max_frame_bytes=100)
    data = (
        b"Event: Big\r\n" + b"".join(b"K%d: %s\r\n" % (i, b"v" * 20) for i in range(20)) + b"\r\n"
    )
    data += b"Event: Small\r\n\r\n"
    assert [m.event for m in parser.feed(data)] == ["Small"]
    assert parser.dropped_frames == 1
    parser = FrameParser(max_frame_bytes=100)
    assert parser.feed(b"x" * 500) == []
    assert [m.event for m in parser.feed(b"\r\n\r\nEvent: After\r\n\r\n")] == ["After"]


def test_actions_are_encoded_and_refuse_line_breaks():
    assert (
        encode_action("Login", {"Username": "crm", "Secret": "s", "Events": None})
        == b"Action: Login\r\nUsername: crm\r\nSecret: s\r\n\r\n"
    )
    import pytest

    with pytest.raises(ValueError, match="line break"):
        encode_action("Originate", {"CallerID": "x\r\nAction: Command"})
