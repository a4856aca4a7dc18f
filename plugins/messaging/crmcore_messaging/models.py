"""Tables of the messaging plugin: providers, templates, triggers, occasions, campaigns, the message outbox,
consent changes and settings. Every table is named ``messaging_…``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crmcore.api import Base, CustomerData, JSONType

CHANNELS = ("sms", "email")
CATEGORIES = ("transactional", "promotional")
LANGUAGES = ("fa", "en")
#: queued → sending → sent → delivered | failed; blocked (consent, no recipient) and skipped (cap) are final;
#: unknown = the process stopped while handing the message to a provider (never retried: no duplicates)
STATUSES = ("queued", "sending", "sent", "delivered", "failed", "blocked", "skipped", "unknown")


class Provider(Base):
    """A configured delivery route: an SMTP server, an SMS API (Kavenegar- or Twilio-like), or a file."""

    __tablename__ = "messaging_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))  # smtp | kavenegar | twilio | file
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    rate_per_minute: Mapped[Optional[int]] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Template(Base):
    __tablename__ = "messaging_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(5))
    category: Mapped[str] = mapped_column(String(16), default="transactional")
    subject: Mapped[Optional[str]] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("name", "channel", "language"),)


class Trigger(Base):
    """Which template a domain event or a yearly date (birthday, anniversary) sends, on which channel."""

    __tablename__ = "messaging_triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("event", "channel"),)


class Occasion(Base):
    """A fixed yearly day in the Jalali calendar (Nowruz 01-01, Yalda 09-30) and the greeting it sends."""

    __tablename__ = "messaging_occasions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    jalali_month: Mapped[int] = mapped_column(Integer)
    jalali_day: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(100))
    where: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Campaign(Base):
    __tablename__ = "messaging_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(100))
    where: Mapped[list[str]] = mapped_column(JSONType, default=list)
    scheduled_at: Mapped[Optional[datetime]]
    status: Mapped[str] = mapped_column(
        String(12), default="draft"
    )  # draft|scheduled|done|cancelled
    created_at: Mapped[datetime]
    started_at: Mapped[Optional[datetime]]
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Message(Base):
    """One message to one customer: the outbox row, then its delivery record."""

    __tablename__ = "messaging_messages"
    __customer_data__ = CustomerData(
        erase={"recipient": None, "subject": None, "body": "", "error": None},
        keep=(
            "channel",
            "category",
            "template",
            "language",
            "trigger",
            "idempotency_key",
            "status",
            "provider",
            "provider_message_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[Optional[str]] = mapped_column(String(254))
    template: Mapped[Optional[str]] = mapped_column(String(100))
    language: Mapped[Optional[str]] = mapped_column(String(5))
    subject: Mapped[Optional[str]] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(
        String(60)
    )  # manual | purchase | birthday | campaign:NAME …
    campaign_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("messaging_campaigns.id"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    error: Mapped[Optional[str]] = mapped_column(Text)
    provider: Mapped[Optional[str]] = mapped_column(String(60))
    provider_message_id: Mapped[Optional[str]] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]
    delivered_at: Mapped[Optional[datetime]]
    interaction_id: Mapped[Optional[int]] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_messaging_messages_due", "status", "next_attempt_at"),
        Index("ix_messaging_messages_provider_ref", "provider", "provider_message_id"),
        Index("ix_messaging_messages_customer_created", "customer_id", "created_at"),
    )


class ConsentChange(Base):
    """Proof of consent: every opt-in and opt-out, with where it came from (CLI, inbound SMS keyword…)."""

    __tablename__ = "messaging_consent_changes"
    __customer_data__ = CustomerData(erase={"detail": None}, keep=("channel", "source"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(40))
    detail: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime]


class SettingValue(Base):
    __tablename__ = "messaging_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)


from .chat_models import ChatLink, ChatMessage  # noqa: E402,F401  (the chat channel's tables)
