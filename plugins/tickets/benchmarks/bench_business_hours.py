"""Due-time arithmetic: BusinessCalendar.add against the raw minute-by-minute walk, in the same run.

Run: CRMCORE_PLUGINS_ONLY=tickets .venv/bin/python plugins/tickets/benchmarks/bench_business_hours.py
Prints the time per due-time computation of both, and the ratio (how many times faster the interval
arithmetic is). Both compute the same answers; the script checks that on every sample it times.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from crmcore_tickets.businesshours import BusinessCalendar  # noqa: E402
from tickets_reference import ref_add  # noqa: E402

SAMPLES = 300
TARGET_MINUTES = 16 * 60  # a 16-business-hour resolution target


def main() -> None:
    rng = random.Random(1403)
    cal = BusinessCalendar.default()
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    starts = [base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60)) for _ in range(SAMPLES)]
    t0 = time.perf_counter()
    fast = [cal.add(s, timedelta(minutes=TARGET_MINUTES)) for s in starts]
    t_fast = (time.perf_counter() - t0) / SAMPLES
    t0 = time.perf_counter()
    slow = [ref_add(cal, s, TARGET_MINUTES) for s in starts]
    t_slow = (time.perf_counter() - t0) / SAMPLES
    assert fast == slow, "the two methods disagree"
    print(
        f"due time of a {TARGET_MINUTES // 60} business-hour target, {SAMPLES} random starts in 2025"
    )
    print(f"  interval arithmetic (BusinessCalendar.add): {t_fast * 1e6:9.1f} µs per ticket")
    print(f"  raw minute-by-minute walk (baseline):       {t_slow * 1e6:9.1f} µs per ticket")
    print(f"  ratio baseline / add: {t_slow / t_fast:.1f}x")


if __name__ == "__main__":
    main()
