"""Tables of the chat channel (a Telegram-compatible bot): which chat belongs to which customer,
and every update and message that went through the bot (their ``update_id`` keeps a webhook
redelivery or a second poll from recording a message twice)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crmcore.api import Base, CustomerData


class ChatLink(Base):
    """A private chat with the bot; ``customer_id`` once the customer shared their own phone."""

    __tablename__ = "messaging_chat_links"

    # forgetting also unlinks the chat (crm_customer_forgotten): a new contact must be shared
    __customer_data__ = CustomerData(
        erase={"name": None, "phone_e164": None}, keep=("chat_id", "user_id")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[Optional[str]] = mapped_column(String(200))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    phone_e164: Mapped[Optional[str]] = mapped_column(String(20))
    created_at: Mapped[datetime]
    linked_at: Mapped[Optional[datetime]]


class ChatMessage(Base):
    """One message in or out of the bot (``direction`` in | out)."""

    __tablename__ = "messaging_chat_messages"

    __customer_data__ = CustomerData(
        erase={"text": "", "error": None},
        keep=("chat_id", "direction", "status", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(40), index=True)
    update_id: Mapped[Optional[int]] = mapped_column(BigInteger, unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    interaction_id: Mapped[Optional[int]] = mapped_column(Integer)
    ticket_id: Mapped[Optional[int]] = mapped_column(Integer)
    #: out: queued → sent | failed; in: received (no customer yet) | recorded
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[Optional[str]] = mapped_column(Text)
    provider_message_id: Mapped[Optional[str]] = mapped_column(String(40))
    created_at: Mapped[datetime]
