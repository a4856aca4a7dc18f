"""The referrals plugin's tables: who brought whom, the rewards that followed, the program versions."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crmcore.api import Base, CustomerData, UTCDateTime

# Personal data these tables hold, scrubbed when a customer is forgotten.
PERSONAL_COLUMNS = {"referrals_referrals": ("device", "phone_digest")}


class Referral(Base):
    """A friend brought by a referrer. A customer is brought once: ``friend_id`` is unique."""

    __tablename__ = "referrals_referrals"
    __customer_data__ = CustomerData(
        merge="hook",
        erase={"device": None, "phone_digest": None},
        erase_for=("friend_id",),
        keep=("code", "source", "attached_by", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    friend_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    code: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(20))  # signup, staff, form, import
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attached_by: Mapped[Optional[str]] = mapped_column(String(100))
    device: Mapped[Optional[str]] = mapped_column(
        String(64)
    )  # digest of the web form's fingerprint
    phone_digest: Mapped[Optional[str]] = mapped_column(
        String(64)
    )  # the friend's phone when attached
    status: Mapped[str] = mapped_column(
        String(12), default="pending"
    )  # pending, qualified, reversed
    spent_minor: Mapped[int] = mapped_column(
        BigInteger, default=0
    )  # toward a "spend" qualification
    qualified_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    interaction_id: Mapped[Optional[int]]  # the qualifying purchase
    program_version: Mapped[Optional[int]]

    __table_args__ = (
        Index("ix_referrals_referrals_referrer", "referrer_id", "attached_at"),
        Index("ix_referrals_referrals_device", "device"),
        Index("ix_referrals_referrals_phone", "phone_digest"),
    )


class ReferralReward(Base):
    """What one qualified referral gave one beneficiary: the friend, or a referrer at a level (1–3).

    Unique per (referral, role, level): two purchases of one friend at once reward once.
    """

    __tablename__ = "referrals_rewards"
    __customer_data__ = CustomerData(keep=("role", "status", "note", "month", "currency"))

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals_referrals.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    role: Mapped[str] = mapped_column(String(10))  # referrer, friend
    level: Mapped[int]
    points: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))  # earned, capped, reversed
    note: Mapped[str] = mapped_column(String(200), default="")
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    month: Mapped[str] = mapped_column(String(7))  # Jalali month of earned_at, for the monthly cap
    interaction_id: Mapped[Optional[int]]
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # the qualifying purchase
    currency: Mapped[str] = mapped_column(String(3), default="IRR")
    program_version: Mapped[int]
    reversed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("referral_id", "role", "level", name="uq_referrals_rewards_once"),
        Index("ix_referrals_rewards_beneficiary", "beneficiary_id", "month"),
        Index("ix_referrals_rewards_interaction", "interaction_id"),
    )


class ReferralProgram(Base):
    """One loaded version of the program text (the highest is active)."""

    __tablename__ = "referrals_programs"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    source_name: Mapped[Optional[str]] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[Optional[str]] = mapped_column(String(100))
