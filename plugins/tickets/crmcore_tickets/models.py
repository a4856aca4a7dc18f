"""Tables of the tickets plugin: business calendars and holidays, SLA policies, teams and agents, tickets,
their messages (public replies and internal notes) and tags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    case,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, JSONType

CHANNELS = ("phone", "email", "web", "chat", "in_person", "social")
PRIORITIES = ("low", "normal", "high", "urgent")
STATES = ("new", "open", "pending_customer", "resolved", "closed")
UNSOLVED = ("new", "open", "pending_customer")
ASSIGNMENT = ("round_robin", "least_loaded")


class BusinessCalendarRow(Base):
    """Working hours per weekday (``{"sat": ["09:00-17:00"], …}``) in a time zone."""

    __tablename__ = "tickets_calendars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    timezone: Mapped[str] = mapped_column(String(60))
    hours: Mapped[dict[str, Any]] = mapped_column(JSONType)
    holidays: Mapped[list["Holiday"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="Holiday.id"
    )


class Holiday(Base):
    """A day off: one date (``day``), or every year on a Jalali month and day (``jalali_month``/``jalali_day``)."""

    __tablename__ = "tickets_holidays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("tickets_calendars.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[Optional[date]] = mapped_column(Date)
    jalali_month: Mapped[Optional[int]] = mapped_column(SmallInteger)
    jalali_day: Mapped[Optional[int]] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(200), default="")
    calendar: Mapped[BusinessCalendarRow] = relationship(back_populates="holidays")


class SlaPolicy(Base):
    """Targets in business minutes for tickets of a priority and/or category (both empty: the fallback)."""

    __tablename__ = "tickets_sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    priority: Mapped[Optional[str]] = mapped_column(String(16))
    category: Mapped[Optional[str]] = mapped_column(String(100))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    warn_minutes: Mapped[int] = mapped_column(Integer, default=60)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("tickets_calendars.id"))
    calendar: Mapped[BusinessCalendarRow] = relationship()
    __table_args__ = (UniqueConstraint("priority", "category"),)


class Team(Base):
    __tablename__ = "tickets_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    assignment: Mapped[str] = mapped_column(String(20), default="round_robin")
    last_agent_id: Mapped[Optional[int]] = mapped_column(Integer)


class Agent(Base):
    __tablename__ = "tickets_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_teams.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    team: Mapped[Optional[Team]] = relationship()


class Ticket(Base):
    __tablename__ = "tickets_tickets"
    __customer_data__ = CustomerData(
        erase={"subject": "[forgotten]", "csat_comment": None},
        keep=("channel", "priority", "category", "state", "source", "dedup_key", "csat_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    category: Mapped[Optional[str]] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="new")
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_agents.id"), index=True)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_teams.id"))
    source: Mapped[Optional[str]] = mapped_column(String(60))
    dedup_key: Mapped[Optional[str]] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # SLA: the policy chosen at opening, stored due times, outcomes in business seconds
    sla_policy_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_sla_policies.id"))
    first_response_due_at: Mapped[Optional[datetime]]
    resolution_due_at: Mapped[Optional[datetime]]
    first_response_at: Mapped[Optional[datetime]]
    first_response_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    first_response_breached_at: Mapped[Optional[datetime]]
    first_response_warned_at: Mapped[Optional[datetime]]
    resolution_breached_at: Mapped[Optional[datetime]]
    resolution_warned_at: Mapped[Optional[datetime]]
    #: when the SLA clock stopped (pending on the customer, resolved, closed); None while it runs
    sla_paused_at: Mapped[Optional[datetime]]
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[Optional[datetime]]
    resolution_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    closed_at: Mapped[Optional[datetime]]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_tickets.id"))
    follow_up_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_tickets.id"))
    # CSAT after close: 1–5, or handed to another plugin (``csat_by``, e.g. "surveys")
    csat_score: Mapped[Optional[int]] = mapped_column(SmallInteger)
    csat_comment: Mapped[Optional[str]] = mapped_column(Text)
    csat_at: Mapped[Optional[datetime]]
    csat_by: Mapped[Optional[str]] = mapped_column(String(60))

    assignee: Mapped[Optional[Agent]] = relationship(foreign_keys=[assignee_id])
    team: Mapped[Optional[Team]] = relationship()
    sla_policy: Mapped[Optional[SlaPolicy]] = relationship()
    messages: Mapped[list["TicketMessage"]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id", cascade="all, delete-orphan"
    )
    tags: Mapped[list["TicketTag"]] = relationship(
        cascade="all, delete-orphan", order_by="TicketTag.tag"
    )

    __table_args__ = (Index("ix_tickets_tickets_state_created", "state", "created_at"),)


class TicketMessage(Base):
    """A public reply (customer or agent) or an internal note (agents only)."""

    __tablename__ = "tickets_messages"
    __customer_data__ = CustomerData(
        via="ticket_id",
        # what the customer wrote, and where replies went; the agents' replies stay
        erase={
            "body": lambda m: case((m.author == "customer", "[forgotten]"), else_=m.body),
            "email_from": lambda m: case((m.author == "customer", None), else_=m.email_from),
            "delivery_to": None,
            "delivery_error": None,
        },
        keep=(
            "kind",
            "author",
            "channel",
            "email_message_id",
            "delivery_channel",
            "delivery_status",
            "delivery_ref",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets_tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # reply | note
    author: Mapped[str] = mapped_column(String(10))  # customer | agent | system
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets_agents.id"))
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[Optional[str]] = mapped_column(String(20))
    created_at: Mapped[datetime]
    #: RFC 5322 Message-ID of an email (incoming, or the id given to an outgoing reply) for threading
    email_message_id: Mapped[Optional[str]] = mapped_column(String(300), unique=True)
    email_from: Mapped[Optional[str]] = mapped_column(String(254))
    # an agent's public reply sent to the customer by the ticket's channel (.delivery):
    # queued → sending → sent, or failed / unknown with the reason; None: not sent anywhere
    delivery_channel: Mapped[Optional[str]] = mapped_column(String(10))  # email | sms
    delivery_to: Mapped[Optional[str]] = mapped_column(String(254))
    delivery_status: Mapped[Optional[str]] = mapped_column(String(10), index=True)
    delivery_error: Mapped[Optional[str]] = mapped_column(Text)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivery_next_at: Mapped[Optional[datetime]]
    delivery_ref: Mapped[Optional[str]] = mapped_column(String(300))
    sent_at: Mapped[Optional[datetime]]
    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    agent: Mapped[Optional[Agent]] = relationship()


class TicketTag(Base):
    __tablename__ = "tickets_ticket_tags"
    __customer_data__ = CustomerData(via="ticket_id", keep=("tag",))

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets_tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
