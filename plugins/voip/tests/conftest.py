"""Fixtures of the voip tests: the plugin enabled, its configuration, and a simulated Asterisk PBX (a real
TCP server speaking AMI: banner, login, scripted events, dropped connections, Ping, CoreShowChannels,
Originate)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone

import pytest
from crmcore_voip.adapters.ami_protocol import FrameParser
from crmcore_voip.config import VoipConfig

T0 = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def crm_plugins():
    return ["voip"]


@pytest.fixture
def voip_config():
    return VoipConfig(
        area_code="21",
        trunk_prefixes=("9",),
        ami_username="crm",
        ami_secret="s3cret",
        twilio_auth_token="twilio-token-123",
        webhook_secret="hook-secret",
    )


@pytest.fixture
def app(crm_app, voip_config):
    crm_app.clock.set(T0)
    crm_app.voip_config = voip_config
    return crm_app


def frame(**fields) -> str:
    """An AMI message as text (``Event=…`` first). Keys with dashes are written ``Cause_txt``."""
    return "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in fields.items()) + "\r\n"


DROP = object()


class FakePBX:
    """A scripted Asterisk manager interface on 127.0.0.1 (its own thread and event loop).

    ``sessions[i]`` is what the i-th connection sends after a successful login: AMI text, ``DROP`` (close
    the connection there), or a float (pause, seconds). Every action received is kept in ``actions``.
    """

    def __init__(
        self,
        sessions=(),
        *,
        username="crm",
        secret="s3cret",
        answer_pings=True,
        active_channels=(),
        banner="Asterisk Call Manager/5.0.1",
    ):
        self.sessions = [list(s) for s in sessions]
        self.username, self.secret, self.banner = username, secret, banner
        self.answer_pings = answer_pings
        self.active_channels = list(active_channels)  # CoreShowChannel field dicts
        self.actions: list[tuple[int, dict]] = []
        self.connections = 0
        self.logins = 0
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self._writers = []

    def start(self) -> "FakePBX":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close():
            self._server.close()
            for w in self._writers:
                w.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def action_names(self) -> list[str]:
        return [a.get("Action") for _, a in self.actions]

    async def _handle(self, reader, writer):
        n = self.connections
        self.connections += 1
        self._writers.append(writer)
        writer.write(f"{self.banner}\r\n".encode())
        parser = FrameParser(kinds=("Action",))
        script = asyncio.ensure_future(asyncio.sleep(0))
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                for msg in parser.feed(data):
                    fields = msg.as_dict()
                    self.actions.append((n, fields))
                    reply = self._reply(n, fields)
                    if reply is None:
                        continue
                    if reply is DROP:
                        await writer.drain()
                        writer.close()
                        return
                    writer.write(reply.encode())
                    await writer.drain()
                    if fields.get("Action") == "Login" and "Success" in reply:
                        script = asyncio.ensure_future(self._play(n, writer))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            script.cancel()
            writer.close()

    def _reply(self, n, fields):
        action, aid = fields.get("Action"), fields.get("ActionID", "")
        if action == "Login":
            if fields.get("Username") == self.username and fields.get("Secret") == self.secret:
                self.logins += 1
                return frame(Response="Success", ActionID=aid, Message="Authentication accepted")
            return frame(Response="Error", ActionID=aid, Message="Authentication failed")
        if action == "Ping":
            if not self.answer_pings:
                return None
            return frame(
                Response="Success", ActionID=aid, Ping="Pong", Timestamp="1742547600.000000"
            )
        if action == "CoreShowChannels":
            out = frame(
                Response="Success", ActionID=aid, EventList="start", Message="Channels will follow"
            )
            for ch in self.active_channels:
                out += frame(Event="CoreShowChannel", ActionID=aid, **ch)
            out += frame(
                Event="CoreShowChannelsComplete",
                ActionID=aid,
                EventList="Complete",
                ListItems=len(self.active_channels),
            )
            return out
        if action == "Originate":
            if not (fields.get("Channel") or "").startswith("PJSIP/"):
                return frame(Response="Error", ActionID=aid, Message="Originate failed")
            return frame(Response="Success", ActionID=aid, Message="Originate successfully queued")
        if action == "Logoff":
            return frame(Response="Goodbye", ActionID=aid, Message="Thanks for all the fish.")
        return frame(Response="Error", ActionID=aid, Message="Invalid/unknown command")

    async def _play(self, n, writer):
        for step in self.sessions[n] if n < len(self.sessions) else []:
            if step is DROP:
                await writer.drain()
                writer.transport.abort()
                return
            if isinstance(step, (int, float)):
                await asyncio.sleep(step)
                continue
            writer.write(step.encode() if isinstance(step, str) else step)
            await writer.drain()


@pytest.fixture
def fake_pbx():
    made = []

    def make(sessions=(), **kwargs) -> FakePBX:
        pbx = FakePBX(sessions, **kwargs).start()
        made.append(pbx)
        return pbx

    yield make
    for pbx in made:
        pbx.stop()


@pytest.fixture
def ami_frame():
    return frame


@pytest.fixture
def ami_drop():
    return DROP


class AMICalls:
    """Event streams as Asterisk 13+ writes them (``Timestamp`` on, as with ``timestampevents=yes``)."""

    def __init__(self, start: datetime = T0):
        self.t0 = start.timestamp()

    def ts(self, seconds: float) -> str:
        return f"{self.t0 + seconds:.6f}"

    def inbound(
        self,
        linkedid: str,
        caller: str,
        ext: str = "101",
        *,
        answer: bool = True,
        at: float = 0,
        talk: float = 95,
        ring: float = 7,
    ) -> list[str]:
        agent_uid = linkedid + "1"
        trunk = f"PJSIP/trunk-{linkedid[-4:]}"
        agent = f"PJSIP/{ext}-{linkedid[-4:]}"
        out = [
            frame(
                Event="Newchannel",
                Privilege="call,all",
                Timestamp=self.ts(at),
                Channel=trunk,
                ChannelState=4,
                ChannelStateDesc="Ring",
                CallerIDNum=caller,
                CallerIDName="",
                Exten="02191001000",
                Context="from-trunk",
                Uniqueid=linkedid,
                Linkedid=linkedid,
            ),
            frame(
                Event="Newchannel",
                Timestamp=self.ts(at + 0.1),
                Channel=agent,
                ChannelState=0,
                ChannelStateDesc="Down",
                CallerIDNum=ext,
                Exten="s",
                Uniqueid=agent_uid,
                Linkedid=linkedid,
            ),
            frame(
                Event="DialBegin",
                Timestamp=self.ts(at + 0.2),
                Channel=trunk,
                CallerIDNum=caller,
                Uniqueid=linkedid,
                Linkedid=linkedid,
                DestChannel=agent,
                DestCallerIDNum=ext,
                DestUniqueid=agent_uid,
                DestLinkedid=linkedid,
                DialString=ext,
            ),
        ]
        if answer:
            out += [
                frame(
                    Event="DialEnd",
                    Timestamp=self.ts(at + ring),
                    Channel=trunk,
                    Uniqueid=linkedid,
                    Linkedid=linkedid,
                    DestChannel=agent,
                    DestCallerIDNum=ext,
                    DestUniqueid=agent_uid,
                    DialStatus="ANSWER",
                ),
                frame(
                    Event="BridgeEnter",
                    Timestamp=self.ts(at + ring),
                    BridgeUniqueid="b-" + linkedid,
                    BridgeNumChannels=1,
                    Channel=trunk,
                    CallerIDNum=caller,
                    Uniqueid=linkedid,
                    Linkedid=linkedid,
                ),
                frame(
                    Event="BridgeEnter",
                    Timestamp=self.ts(at + ring),
                    BridgeUniqueid="b-" + linkedid,
                    BridgeNumChannels=2,
                    Channel=agent,
                    CallerIDNum=ext,
                    Uniqueid=agent_uid,
                    Linkedid=linkedid,
                ),
                frame(
                    Event="Hangup",
                    Timestamp=self.ts(at + ring + talk),
                    Channel=agent,
                    Uniqueid=agent_uid,
                    Linkedid=linkedid,
                    CallerIDNum=ext,
                    Cause=16,
                    Cause_txt="Normal Clearing",
                ),
                frame(
                    Event="Hangup",
                    Timestamp=self.ts(at + ring + talk),
                    Channel=trunk,
                    Uniqueid=linkedid,
                    Linkedid=linkedid,
                    CallerIDNum=caller,
                    Cause=16,
                    Cause_txt="Normal Clearing",
                ),
            ]
        else:
            out += [
                frame(
                    Event="DialEnd",
                    Timestamp=self.ts(at + ring),
                    Channel=trunk,
                    Uniqueid=linkedid,
                    Linkedid=linkedid,
                    DestChannel=agent,
                    DestUniqueid=agent_uid,
                    DialStatus="NOANSWER",
                ),
                frame(
                    Event="Hangup",
                    Timestamp=self.ts(at + ring),
                    Channel=agent,
                    Uniqueid=agent_uid,
                    Linkedid=linkedid,
                    Cause=19,
                    Cause_txt="No answer",
                ),
                frame(
                    Event="Hangup",
                    Timestamp=self.ts(at + ring),
                    Channel=trunk,
                    Uniqueid=linkedid,
                    Linkedid=linkedid,
                    CallerIDNum=caller,
                    Cause=19,
                    Cause_txt="No answer",
                ),
            ]
        return out


@pytest.fixture
def ami_calls():
    return AMICalls()


@pytest.fixture
def app_with(crm_app, crm_app_factory, voip_config):
    """``app_with((name, impl, specs), …)``: a CRM on the test database with fake plugins registered through
    ``extra_plugins`` and reported enabled by ``uow.has_plugin`` (the kernel only counts installed ones)."""

    def make(*fakes):
        app = crm_app_factory(extra_plugins=list(fakes))
        app.clock.set(T0)
        app.voip_config = voip_config
        app.plugins.pm  # build the hook manager with the fakes
        app.plugins.enabled.extend(name for name, _obj, _specs in fakes)
        return app

    return make
