"""The lottery plugin's tables: campaigns and their prizes, entries, lottery cards, the frozen entry list and
the winners. Every table is named ``lottery_…``; amounts are integers of the minor unit, weights are ints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, JSONType

#: open: entries accepted; closed: the entry list is frozen and its hash published; drawn: winners known
STATUSES = ("open", "closed", "drawn")


class LotteryCampaign(Base):
    __tablename__ = "lottery_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: short unique name used on the command line (``nowruz-1404``)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_fa: Mapped[Optional[str]] = mapped_column(String(200))
    #: the official rules, recorded when the campaign is created (before any entry) and never changed
    rules_text: Mapped[str] = mapped_column(Text)
    rules_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: entries count when they happen in [entry_start, entry_end) (UTC)
    entry_start: Mapped[datetime]
    entry_end: Mapped[datetime]
    draw_at: Mapped[datetime]
    # -- how entries are earned --------------------------------------------------------------------------
    currency: Mapped[str] = mapped_column(String(3), default="IRR")
    #: entries for every purchase in the window (0: none)
    per_purchase: Mapped[int] = mapped_column(Integer, default=0)
    #: one entry per this many minor units spent in one purchase (None: off)
    per_amount: Mapped[Optional[int]] = mapped_column(BigInteger)
    #: points for one entry bought through the loyalty ledger (None: entries cannot be bought)
    points_per_entry: Mapped[Optional[int]] = mapped_column(Integer)
    # -- who may win -------------------------------------------------------------------------------------
    #: segment clauses (``city=تهران``, ``tag=vip``) every winner must match at close
    where_clauses: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: the lowest tier that may win (needs the ``tier`` search field of the tiers plugin)
    min_tier: Mapped[Optional[str]] = mapped_column(String(40))
    #: customers with any of these tags are staff and cannot win (empty: staff may take part)
    staff_tags: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: total entries a member needs to qualify
    min_entries: Mapped[int] = mapped_column(Integer, default=1)
    one_prize_per_person: Mapped[bool] = mapped_column(Boolean, default=True)
    #: winners of the last N drawn campaigns cannot win this one
    exclude_recent_winners: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    created_by: Mapped[Optional[str]] = mapped_column(String(100))
    # -- the published material ---------------------------------------------------------------------------
    closed_at: Mapped[Optional[datetime]]
    #: SHA-256 of the frozen document (entry list + draw parameters), published at close
    list_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    #: SHA-256 of the secret seed, published at close
    seed_commitment: Mapped[Optional[str]] = mapped_column(String(64))
    #: the secret seed: generated at close and kept here until the draw reveals it; None when the operator
    #: committed to a seed of their own (``close --commitment``) and gives it at the draw
    seed: Mapped[Optional[str]] = mapped_column(String(64))
    drawn_at: Mapped[Optional[datetime]]
    #: what the close found: participants, entries, exclusions by reason
    close_summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: what the frozen list names members by: ``code`` (their lottery code, which they know from
    #: their card and messages) or ``customer`` (the internal id: campaigns created before codes)
    participants_by: Mapped[str] = mapped_column(String(16), default="code")

    prizes: Mapped[list["LotteryPrize"]] = relationship(
        back_populates="campaign", order_by="LotteryPrize.rank"
    )


class LotteryPrize(Base):
    __tablename__ = "lottery_prizes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"), index=True)
    #: 1 is drawn first (the grand prize)
    rank: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_fa: Mapped[Optional[str]] = mapped_column(String(200))
    #: how many winners this prize has
    quantity: Mapped[int] = mapped_column(Integer)
    #: units in hand; the draw awards at most this many and takes them from stock
    stock: Mapped[int] = mapped_column(Integer)
    #: winners drawn for it (after the draw)
    awarded: Mapped[int] = mapped_column(Integer, default=0)
    #: winners fixed for it at close (min(quantity, stock)), part of the frozen document
    slots: Mapped[Optional[int]] = mapped_column(Integer)

    campaign: Mapped[LotteryCampaign] = relationship(back_populates="prizes")
    __table_args__ = (UniqueConstraint("campaign_id", "rank"),)


class LotteryEntry(Base):
    """Entries (weight = how many) a customer earned in a campaign, one row per source event."""

    __tablename__ = "lottery_entries"
    __customer_data__ = CustomerData(keep=("source", "key", "details"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: purchase, points or card
    source: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(Integer)
    #: one source event gives entries once: ``purchase:<interaction id>``, ``card:<card id>``, ``points:<key>``
    key: Mapped[str] = mapped_column(String(200))
    interaction_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interactions.id"))
    loyalty_entry_id: Mapped[Optional[int]] = mapped_column(Integer)
    card_id: Mapped[Optional[int]] = mapped_column(Integer)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        UniqueConstraint("campaign_id", "key"),
        Index("ix_lottery_entries_campaign_customer", "campaign_id", "customer_id"),
    )


class LotteryCardBatch(Base):
    __tablename__ = "lottery_card_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"), index=True)
    label: Mapped[Optional[str]] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    #: entries one card of the batch gives
    weight: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    created_by: Mapped[Optional[str]] = mapped_column(String(100))


class LotteryCard(Base):
    """A lottery card: only the SHA-256 of its code is stored, so a copy of the database reveals no code."""

    __tablename__ = "lottery_cards"
    __customer_data__ = CustomerData(keep=("code_sha256", "hint"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("lottery_card_batches.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"))
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: the code's last four characters, to name a card in messages
    hint: Mapped[str] = mapped_column(String(8))
    redeemed_at: Mapped[Optional[datetime]]
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    entry_id: Mapped[Optional[int]] = mapped_column(Integer)


class LotteryFrozenEntry(Base):
    """One line of the frozen list: written at close, never changed (the published hash covers it)."""

    __tablename__ = "lottery_frozen_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"))
    position: Mapped[int] = mapped_column(Integer)
    #: the participant's customer id at close
    participant: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("campaign_id", "position"),)


class LotteryWinner(Base):
    __tablename__ = "lottery_winners"
    __customer_data__ = CustomerData()

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"), index=True)
    #: 0-based draw number: the order in which prizes were drawn
    slot: Mapped[int] = mapped_column(Integer)
    prize_id: Mapped[int] = mapped_column(ForeignKey("lottery_prizes.id"))
    prize_rank: Mapped[int] = mapped_column(Integer)
    #: the frozen list's participant (never changed) and the customer who holds the prize now (merges)
    participant: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    #: the winning ticket number in [0, total weight) at this draw
    ticket: Mapped[int] = mapped_column(BigInteger)
    drawn_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("campaign_id", "slot"),)


class LotteryMember(Base):
    """A member's lottery code: eight random digits shown on their card, in messages and in every
    published entry list, so they can find their own entry without an internal id."""

    __tablename__ = "lottery_members"
    # a merged-away member keeps their code: a frozen list names the entry by it (the kept member
    # gets a code of their own when they first need one); random digits, nothing personal
    __customer_data__ = CustomerData(merge="keep")

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    code: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime]
