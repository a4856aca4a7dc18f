"""How fast the voip plugin turns PBX traffic into call-log rows, against raw baselines measured in the same run.

1. AMI parsing: FrameParser on a captured stream vs. a bare ``split`` into dicts (no validation).
2. Call ingestion: tracker + handle_call_event (lookup, pop, interaction, follow-up) for N inbound calls vs.
   recording the same N call interactions directly with the kernel's record_interaction.

Run: CRMCORE_PLUGINS_ONLY=voip .venv/bin/python plugins/voip/benchmarks/ingest.py [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from crmcore_voip.adapters.ami_events import AMICallTracker
from crmcore_voip.adapters.ami_protocol import FrameParser
from crmcore_voip.config import VoipConfig
from crmcore_voip.service import handle_call_event

from crmcore.api import CRM, add_customer, record_interaction

T0 = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)


def frame(**f) -> str:
    return "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in f.items()) + "\r\n"


def call_frames(i: int, caller: str, answered: bool) -> list[str]:
    lid, agent, t = f"{1742547600 + i}.{i}", f"{1742547600 + i}.{i}9", T0.timestamp() + i * 30
    out = [
        frame(
            Event="Newchannel",
            Timestamp=f"{t:.6f}",
            Channel=f"PJSIP/trunk-{i}",
            CallerIDNum=caller,
            Exten="02191001000",
            Uniqueid=lid,
            Linkedid=lid,
        ),
        frame(
            Event="DialBegin",
            Timestamp=f"{t + 0.2:.6f}",
            Channel=f"PJSIP/trunk-{i}",
            Uniqueid=lid,
            Linkedid=lid,
            DestChannel=f"PJSIP/101-{i}",
            DestCallerIDNum="101",
            DestUniqueid=agent,
        ),
    ]
    if answered:
        out.append(
            frame(
                Event="DialEnd",
                Timestamp=f"{t + 6:.6f}",
                Uniqueid=lid,
                Linkedid=lid,
                DestCallerIDNum="101",
                DialStatus="ANSWER",
            )
        )
    out.append(
        frame(
            Event="Hangup",
            Timestamp=f"{t + 20:.6f}",
            Uniqueid=lid,
            Linkedid=lid,
            Cause_txt="Normal",
        )
    )
    return out


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(n: int = 300) -> None:
    rng = random.Random(1)
    phones = [f"0912{1000000 + k:07d}" for k in range(50)]
    stream = "".join(
        f for i in range(n) for f in call_frames(i, rng.choice(phones), rng.random() < 0.8)
    ).encode()

    parse_s, msgs = timed(lambda: FrameParser().feed(stream))
    raw_s, raw = timed(
        lambda: [
            dict(line.split(": ", 1) for line in block.split("\r\n") if line)
            for block in stream.decode().split("\r\n\r\n")
            if block
        ]
    )
    assert len(msgs) == len(raw)
    mb = len(stream) / 1e6
    print(
        f"AMI parse: {len(msgs)} messages, {mb:.2f} MB in {parse_s * 1000:.1f} ms ({mb / parse_s:.1f} MB/s); "
        f"bare split {raw_s * 1000:.1f} ms; ratio {parse_s / raw_s:.2f}x"
    )

    with tempfile.TemporaryDirectory() as tmp:
        for label in ("voip", "raw"):
            app = CRM(f"sqlite:///{tmp}/{label}.db", plugins=["voip"], clock=lambda: T0)
            app.init()
            with app.unit_of_work() as uow:
                for k, p in enumerate(phones):
                    add_customer(uow, name=f"مشتری {k}", phones=[p])
            if label == "voip":
                cfg = VoipConfig()
                tracker = AMICallTracker(cfg)

                def ingest():
                    events = 0
                    for m in msgs:
                        for e in tracker.feed(m):
                            events += 1
                            with app.unit_of_work() as uow:
                                handle_call_event(uow, e, cfg)
                    return events

                voip_s, n_events = timed(ingest)
            else:

                def baseline():
                    from crmcore.api import resolve_customer

                    for i in range(n):
                        with app.unit_of_work() as uow:
                            c = resolve_customer(uow.session, rng.choice(phones))
                            record_interaction(
                                uow,
                                c,
                                kind="call",
                                channel="phone",
                                direction="in",
                                occurred_at=T0 + timedelta(seconds=i * 30),
                                external_id=f"raw:{i}",
                                payload={"duration_seconds": 14},
                            )

                raw_s2, _ = timed(baseline)
            app.dispose()
    print(
        f"call ingestion: {n} calls ({len(msgs)} AMI messages → {n_events} call events, one transaction each) in {voip_s:.2f} s "
        f"= {n / voip_s:.0f} calls/s; raw record_interaction per call {raw_s2:.2f} s = {n / raw_s2:.0f} calls/s; "
        f"ratio {voip_s / raw_s2:.2f}x; per transaction {voip_s / n_events * 1000:.2f} ms vs "
        f"{raw_s2 / n * 1000:.2f} ms (ratio {(voip_s / n_events) / (raw_s2 / n):.2f}x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
