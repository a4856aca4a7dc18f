"""The tiers tables: each member's current tier, the full history of changes, and the evaluation runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crmcore.api import Base, CustomerData, JSONType


class TierMember(Base):
    """A member's current tier (one row per member, created at their first purchase or points)."""

    __tablename__ = "tiers_members"
    __customer_data__ = CustomerData(merge="hook", keep=("tier", "previous_tier"))

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(40), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime]  # when the member entered this tier
    joined_at: Mapped[datetime]
    #: the tier before the last change, and the purchase that caused it: that purchase still earns at the old
    #: tier's multiplier (the new one applies from the next purchase)
    previous_tier: Mapped[Optional[str]] = mapped_column(String(40))
    cause_interaction_id: Mapped[Optional[int]] = mapped_column(Integer)
    #: local date on which the member is downgraded unless they re-qualify (grace period running)
    grace_until: Mapped[Optional[date]] = mapped_column(Date)
    #: the lapse date the member was last warned about (each warning is sent once)
    warned_for: Mapped[Optional[date]] = mapped_column(Date)
    updated_at: Mapped[datetime]


class TierChange(Base):
    """One change of a member's tier (joining the base tier included). Append-only."""

    __tablename__ = "tiers_changes"
    __customer_data__ = CustomerData(
        keep=("old_tier", "new_tier", "direction", "reason", "actor", "details")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    old_tier: Mapped[Optional[str]] = mapped_column(String(40))
    new_tier: Mapped[str] = mapped_column(String(40))
    old_rank: Mapped[Optional[int]] = mapped_column(Integer)
    new_rank: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(8))  # join | up | down | merge
    reason: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]  # when it took effect (the purchase's time for imported history)
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    interaction_id: Mapped[Optional[int]] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        Index("ix_tiers_changes_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_tiers_changes_occurred", "occurred_at"),
    )


class TierEvaluation(Base):
    """One evaluation run (``crm tiers evaluate`` or the ``tiers.evaluate`` job)."""

    __tablename__ = "tiers_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)  # local date evaluated
    moment: Mapped[datetime]  # the instant qualification was measured at
    ran_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
