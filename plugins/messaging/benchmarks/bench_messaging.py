"""Messaging throughput, each figure beside a raw baseline measured in the same run.

1. rendering a Persian template (toman, Jalali, Persian digits) in the sandbox vs str.format of the same text
2. queueing a campaign (segment, consent, cap, render, idempotency, insert) vs a bare bulk INSERT of the rows
3. delivering through the file channel (claim, re-check consent, send, record, log interaction one by one)
   vs the same writes done in bulk (JSON lines, one UPDATE, one multi-row INSERT of interactions)

Run: .venv/bin/python plugins/messaging/benchmarks/bench_messaging.py [customers]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("CRMCORE_PLUGINS_ONLY", "messaging")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def show(label: str, n: int, seconds: float, baseline: float) -> None:
    print(
        f"{label:<34} {n / seconds:>10,.0f}/s   baseline {n / baseline:>12,.0f}/s   ratio {seconds / baseline:>6.1f}x"
    )


def bench_render(n: int = 20_000) -> None:
    from crmcore_messaging.templating import SAMPLE, compile_source, f_jalali, render_compiled

    from crmcore.api import Money, format_money, to_persian_digits

    source = "{{ first_name }} عزیز، خرید {{ amount|toman(true) }} در {{ purchased_at|jalali(true)|fa }} ثبت شد"
    compiled = compile_source(source)
    ctx = dict(SAMPLE)
    t = timed(lambda: [render_compiled(compiled, ctx) for _ in range(n)])

    def raw():
        for _ in range(n):
            "{} عزیز، خرید {} در {} ثبت شد".format(
                ctx["first_name"],
                format_money(Money(ctx["amount"], "IRR"), unit="toman", persian_digits=True),
                to_persian_digits(f_jalali(ctx["purchased_at"], True)),
            )

    assert render_compiled(compiled, ctx).endswith("ثبت شد")
    show("render (sandbox vs str.format)", n, t, timed(raw))


def bench_campaign_and_delivery(customers: int) -> None:
    from crmcore_messaging.campaigns import create_campaign, get_campaign, run_campaign
    from crmcore_messaging.models import Message
    from crmcore_messaging.outbox import deliver
    from crmcore_messaging.service import add_provider, save_template
    from crmcore_messaging.settings import set_setting
    from sqlalchemy import insert

    from crmcore.api import CRM, add_customer

    with tempfile.TemporaryDirectory() as tmp:
        app = CRM(f"sqlite:///{tmp}/bench.db", plugins=["messaging"])
        app.init()
        out = Path(tmp) / "sms.jsonl"
        with app.unit_of_work() as uow:
            set_setting(uow, "send_after_commit", "no")
            set_setting(uow, "quiet_hours", "off")
            set_setting(uow, "frequency_cap", "off")
            add_provider(uow, name="dev", kind="file", channel="sms", options={"path": str(out)})
            save_template(
                uow,
                name="promo",
                channel="sms",
                category="promotional",
                body="{{ first_name }} عزیز، {{ campaign }}: ۲۰٪ تخفیف",
            )
            for n in range(customers):
                add_customer(
                    uow,
                    name=f"مشتری {n}",
                    phones=[f"0912{n:07d}"],
                    tags=["vip"],
                    consent_sms=True,
                    birthday=date(1990, 1, 1 + n % 28),
                )
            create_campaign(uow, name="c", template="promo", channel="sms", where=["tag=vip"])

        def queue():
            with app.unit_of_work() as uow:
                totals = run_campaign(uow, get_campaign(uow, "c"))
            assert totals["queued"] == customers, totals

        t_queue = timed(queue)
        rows = [
            {
                "customer_id": i + 1,
                "channel": "sms",
                "category": "promotional",
                "recipient": f"+98912{i:07d}",
                "template": "promo",
                "body": "x",
                "trigger": "raw",
                "idempotency_key": f"raw:{i}",
                "status": "skipped",
                "attempts": 0,
                "created_at": app.now(),
            }
            for i in range(customers)
        ]

        def raw_insert():
            with app.unit_of_work() as uow:
                uow.session.execute(insert(Message), rows)

        show("campaign queue (vs bare INSERT)", customers, t_queue, timed(raw_insert))

        def send_all():
            totals = deliver(app, limit=customers)
            assert totals["sent"] == customers, totals

        t_send = timed(send_all)
        lines = [
            json.dumps({"id": i, "to": r["recipient"], "body": r["body"]}, ensure_ascii=False)
            for i, r in enumerate(rows)
        ]

        def raw_same_work():  # write the lines, mark the rows sent, insert the log interactions: all in bulk
            from sqlalchemy import update

            from crmcore.api import Interaction

            with open(Path(tmp) / "raw.jsonl", "a", encoding="utf-8") as fh:
                for line in lines:
                    fh.write(line + "\n")
            with app.unit_of_work() as uow:
                uow.session.execute(
                    update(Message).where(Message.trigger == "raw").values(status="sent")
                )
                uow.session.execute(
                    insert(Interaction),
                    [
                        {
                            "customer_id": r["customer_id"],
                            "kind": "message",
                            "channel": "sms",
                            "direction": "out",
                            "occurred_at": app.now(),
                            "external_id": f"raw-{i}",
                            "payload": {},
                            "recorded_at": app.now(),
                        }
                        for i, r in enumerate(rows)
                    ],
                )

        show("deliver via file channel (vs bulk)", customers, t_send, timed(raw_same_work))
        app.dispose()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    bench_render()
    bench_campaign_and_delivery(n)
