"""Lottery speed, each figure next to a raw baseline measured in the same run.

1. Draw: the verifiable draw (SHA-256 + rejection sampling + Fenwick tree) of P prizes from a frozen list of N
   members, against ``random.Random(seed).choices`` picking P weighted winners (not verifiable, no
   one-prize-per-person removal: the floor of what any weighted draw costs in Python).
2. Verification of that draw (parse the frozen document, hash it, redraw) against hashing the document alone.
3. Cards: generating C codes (15 random symbols + a check symbol, SHA-256 each) against ``secrets.token_hex``.
4. Purchases: recording R purchases in one unit of work with an open campaign (entries written by the hook)
   against the kernel alone.

Run: CRMCORE_PLUGINS_ONLY=lottery .venv/bin/python plugins/lottery/benchmarks/bench_lottery.py [N]
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from crmcore_lottery import proof
from crmcore_lottery.cards import code_hash, new_code

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
PRIZES = 100
CARDS = 50_000
PURCHASES = 3_000


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def line(label: str, seconds: float, baseline: float, unit: str) -> None:
    print(
        f"{label:<44} {seconds * 1000:9.1f} ms   baseline {baseline * 1000:8.1f} ms   "
        f"ratio {seconds / baseline:6.1f}×   ({unit})"
    )


def bench_draw() -> None:
    rng = random.Random(1403)
    entries = [proof.FrozenEntry(i, i, rng.randint(1, 40)) for i in range(1, N + 1)]
    spec = proof.DrawSpec("bench", "0" * 64, True, ((1, 1), (2, PRIZES - 1)))
    document = proof.frozen_document(spec, entries)
    list_hash = proof.sha256_hex(document)
    seed = proof.new_seed()
    t_draw, wins = timed(lambda: proof.draw(spec, entries, seed, list_hash))
    weights = [e.weight for e in entries]
    t_base, _ = timed(lambda: random.Random(seed).choices(entries, weights=weights, k=PRIZES))
    line(f"draw {PRIZES} prizes from {N:,} members", t_draw, t_base, "random.choices")
    claimed = [(w.slot, w.prize_rank, w.participant) for w in wins]
    t_verify, result = timed(
        lambda: proof.verify(
            document,
            seed,
            list_sha256=list_hash,
            seed_commitment=proof.commitment(seed),
            winners=claimed,
        )
    )
    assert result.ok
    t_hash, _ = timed(lambda: proof.sha256_hex(document))
    line(
        f"verify it ({len(document) / 1e6:.1f} MB frozen list)",
        t_verify,
        t_hash,
        "SHA-256 of the list",
    )


def bench_cards() -> None:
    t_cards, codes = timed(lambda: [code_hash(new_code()) for _ in range(CARDS)])
    t_base, _ = timed(lambda: [secrets.token_hex(10) for _ in range(CARDS)])
    line(f"generate and hash {CARDS:,} card codes", t_cards, t_base, "secrets.token_hex")


def bench_purchases() -> None:
    from crmcore_lottery.campaigns import create_campaign

    from crmcore.api import CRM, add_customer, record_interaction

    now = datetime.now(timezone.utc)

    def run(tmp: Path, name: str, plugins: list[str]) -> float:
        app = CRM(f"sqlite:///{tmp / name}.db", plugins=plugins)
        app.init()
        with app.unit_of_work() as uow:
            people = [
                add_customer(uow, name=f"مشتری {n}", phones=[f"0912{n:07d}"]) for n in range(200)
            ]
            if plugins:
                create_campaign(
                    uow,
                    name="bench",
                    title="bench",
                    rules_text="rules",
                    entry_start=now - timedelta(days=30),
                    entry_end=now + timedelta(days=30),
                    per_purchase=1,
                    per_amount="1000000",
                    prizes=[{"name": "coin", "quantity": 1}],
                )
        with app.unit_of_work() as uow:
            from crmcore.api import get_customer

            people = [get_customer(uow.session, p.id) for p in people]
            start = time.perf_counter()
            for k in range(PURCHASES):
                record_interaction(
                    uow,
                    people[k % 200],
                    kind="purchase",
                    amount=str(900_000 + 1000 * k),
                    occurred_at=now - timedelta(minutes=k),
                )
            seconds = time.perf_counter() - start
        app.dispose()
        return seconds

    with tempfile.TemporaryDirectory() as d:
        base = run(Path(d), "kernel", [])
        with_lottery = run(Path(d), "lottery", ["lottery"])
    line(f"record {PURCHASES:,} purchases, open campaign", with_lottery, base, "kernel alone")


if __name__ == "__main__":
    bench_draw()
    bench_cards()
    bench_purchases()
