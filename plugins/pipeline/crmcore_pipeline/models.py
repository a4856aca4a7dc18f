"""Tables of the pipeline plugin: pipelines and stages, sales reps, lead sources, close reasons, leads, deals,
stage history, deal activities and sales targets. Money is in minor units; moments are UTC."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, Money, numbered, utcnow

STAGE_KINDS = ("open", "won", "lost")
DEAL_STATUSES = ("open", "won", "lost")
LEAD_STATUSES = ("new", "converted", "disqualified")


class Pipeline(Base):
    __tablename__ = "pipeline_pipelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stages: Mapped[list["Stage"]] = relationship(
        back_populates="pipeline", order_by="Stage.position"
    )


class Stage(Base):
    __tablename__ = "pipeline_stages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline_pipelines.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[Optional[str]] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    #: default win probability (percent) of deals in this stage
    probability: Mapped[int] = mapped_column(Integer)
    #: open | won | lost — every pipeline has exactly one won and one lost stage, last
    kind: Mapped[str] = mapped_column(String(8), default="open")

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")
    __table_args__ = (
        UniqueConstraint("pipeline_id", "code"),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability_range"),
    )


class SalesRep(Base):
    __tablename__ = "pipeline_reps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: round-robin turn: 0 = never assigned; the active rep with the smallest value is next
    last_assigned_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadSource(Base):
    __tablename__ = "pipeline_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[Optional[str]] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CloseReason(Base):
    """A managed reason for winning or losing a deal (``kind`` = won | lost)."""

    __tablename__ = "pipeline_close_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[Optional[str]] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("kind", "code"),)


class Lead(Base):
    """An unqualified prospect; converting it creates a deal (and a customer when needed)."""

    __tablename__ = "pipeline_leads"
    __customer_data__ = CustomerData(
        erase={
            "title": numbered("lead "),
            "contact_name": None,
            "phone": None,
            "email": None,
            "company": None,
            "note": None,
            "disqualify_reason": lambda m: case(
                (m.disqualify_reason != "", "-"), else_=m.disqualify_reason
            ),
        },
        keep=("status",),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    contact_name: Mapped[Optional[str]] = mapped_column(String(300))
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    company: Mapped[Optional[str]] = mapped_column(String(300))
    source_id: Mapped[int] = mapped_column(ForeignKey("pipeline_sources.id"), index=True)
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pipeline_reps.id"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    note: Mapped[Optional[str]] = mapped_column(Text)
    disqualify_reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[Optional[datetime]]

    source: Mapped[LeadSource] = relationship()
    owner: Mapped[Optional[SalesRep]] = relationship()


class Deal(Base):
    __tablename__ = "pipeline_deals"
    __customer_data__ = CustomerData(
        erase={"title": numbered("deal "), "next_activity": None, "close_note": None},
        keep=("currency", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    lead_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pipeline_leads.id"), unique=True)
    source_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pipeline_sources.id"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline_pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"))
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pipeline_reps.id"))
    amount_minor: Mapped[Optional[int]] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IRR")
    expected_close: Mapped[Optional[date]]
    #: overrides the stage's default probability (percent) while the deal is open
    probability: Mapped[Optional[int]] = mapped_column(Integer)
    next_activity: Mapped[Optional[str]] = mapped_column(String(300))
    next_activity_on: Mapped[Optional[date]]
    status: Mapped[str] = mapped_column(String(8), default="open")
    close_reason_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pipeline_close_reasons.id"))
    close_note: Mapped[Optional[str]] = mapped_column(Text)
    closed_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the stale-deals job last announced this deal (reset by any activity)
    stale_notified_at: Mapped[Optional[datetime]]

    pipeline: Mapped[Pipeline] = relationship()
    stage: Mapped[Stage] = relationship()
    owner: Mapped[Optional[SalesRep]] = relationship()
    source: Mapped[Optional[LeadSource]] = relationship()
    close_reason: Mapped[Optional[CloseReason]] = relationship()

    __table_args__ = (
        Index("ix_pipeline_deals_customer_status", "customer_id", "status"),
        Index("ix_pipeline_deals_status_stage", "status", "stage_id"),
        Index("ix_pipeline_deals_owner_status", "owner_id", "status"),
        CheckConstraint("amount_minor IS NULL OR amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint(
            "probability IS NULL OR (probability >= 0 AND probability <= 100)",
            name="probability_range",
        ),
    )

    @property
    def money(self) -> Money | None:
        return None if self.amount_minor is None else Money(self.amount_minor, self.currency)

    @property
    def effective_probability(self) -> int:
        if self.status == "won":
            return 100
        if self.status == "lost":
            return 0
        return self.stage.probability if self.probability is None else self.probability


class StageHistory(Base):
    """Every stage a deal entered, with when and by whom (``from_stage_id`` is NULL for the first)."""

    __tablename__ = "pipeline_stage_history"
    __customer_data__ = CustomerData(via="deal_id", erase={"note": None}, keep=("actor",))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("pipeline_deals.id"), index=True)
    from_stage_id: Mapped[Optional[int]] = mapped_column(ForeignKey("pipeline_stages.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[Optional[str]] = mapped_column(Text)

    deal: Mapped[Deal] = relationship()
    from_stage: Mapped[Optional[Stage]] = relationship(foreign_keys=[from_stage_id])
    to_stage: Mapped[Stage] = relationship(foreign_keys=[to_stage_id])
    __table_args__ = (Index("ix_pipeline_stage_history_to_at", "to_stage_id", "at"),)


class DealActivity(Base):
    """Something done on a deal (a call, a meeting, a note); it keeps the deal from going stale."""

    __tablename__ = "pipeline_activities"
    __customer_data__ = CustomerData(via="deal_id", erase={"note": None}, keep=("kind", "actor"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("pipeline_deals.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[Optional[str]] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))


class SalesTarget(Base):
    """What a rep should win in a period [starts_on, ends_on) (a Jalali or Gregorian month or year)."""

    __tablename__ = "pipeline_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("pipeline_reps.id"))
    label: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IRR")

    rep: Mapped[SalesRep] = relationship()
    __table_args__ = (
        UniqueConstraint("rep_id", "starts_on", "ends_on", "currency"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    )
