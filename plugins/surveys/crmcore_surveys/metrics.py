"""Survey arithmetic, exact: NPS, CSAT and CES from integer scores, as Decimals with one decimal place.

- NPS: promoters answer 9–10, passives 7–8, detractors 0–6; NPS = %promoters − %detractors (−100…100).
- CSAT: the share of satisfied answers (4 or 5 on 1–5), as a percentage; and the average score.
- CES: the average effort score (1–7).
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

ONE_DECIMAL = Decimal("0.1")
TWO_DECIMALS = Decimal("0.01")


def percent(part: int, whole: int) -> Decimal:
    """``part`` of ``whole`` as a percentage rounded half-up to one decimal (exact decimal arithmetic)."""
    return (Decimal(100 * part) / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def average(scores: list[int]) -> Decimal | None:
    if not scores:
        return None
    return (Decimal(sum(scores)) / Decimal(len(scores))).quantize(
        TWO_DECIMALS, rounding=ROUND_HALF_UP
    )


def nps_breakdown(scores: Iterable[int]) -> dict[str, Any]:
    """Counts of promoters, passives and detractors, and NPS (None without answers).

    NPS is computed from the counts in one exact step, (promoters − detractors) × 100 / total, so rounding
    happens once (33.3, not 33.3 − 0.0 rounded twice).
    """
    promoters = passives = detractors = 0
    for s in scores:
        if s >= 9:
            promoters += 1
        elif s >= 7:
            passives += 1
        else:
            detractors += 1
    total = promoters + passives + detractors
    return {
        "responses": total,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "promoters_pct": percent(promoters, total) if total else None,
        "detractors_pct": percent(detractors, total) if total else None,
        "nps": percent(promoters - detractors, total) if total else None,
    }


def csat_breakdown(scores: Iterable[int]) -> dict[str, Any]:
    values = list(scores)
    satisfied = sum(1 for s in values if s >= 4)
    dist = Counter(values)
    return {
        "responses": len(values),
        "satisfied": satisfied,
        "csat": percent(satisfied, len(values)) if values else None,
        "average": average(values),
        "distribution": {str(k): dist.get(k, 0) for k in range(1, 6)},
    }


def ces_breakdown(scores: Iterable[int]) -> dict[str, Any]:
    values = list(scores)
    dist = Counter(values)
    return {
        "responses": len(values),
        "average": average(values),
        "easy": sum(1 for s in values if s >= 5),
        "distribution": {str(k): dist.get(k, 0) for k in range(1, 8)},
    }


def as_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
