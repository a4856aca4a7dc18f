"""Segment fields messaging adds to ``--where``: last_purchase (a local date, Jalali or Gregorian)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crmcore.api import Customer, Interaction, SearchField, parse_date, parse_datetime


def _last_purchase(op: str, value: str):
    day = parse_date(value, field="last_purchase")
    start, next_start = parse_datetime(day), parse_datetime(day + timedelta(days=1))
    last = (select(func.max(Interaction.occurred_at)).where(
        Interaction.customer_id == Customer.id, Interaction.kind == "purchase").scalar_subquery())
    return {"<": last < start, "<=": last < next_start, ">": last >= next_start, ">=": last >= start,
            "=": (last >= start) & (last < next_start), "!=": (last < start) | (last >= next_start)}[op]


FIELDS = [SearchField("last_purchase", "local date of the last purchase (last_purchase<1403-01-01)",
                      _last_purchase, type="date", ops=("=", "!=", ">", ">=", "<", "<="))]
