"""Lottery cards handed out with products: batches of unique, hard-to-guess codes, each redeemable once.

A code is 15 random symbols of Crockford's base-32 alphabet (75 bits from :mod:`secrets`) and one check
symbol (Luhn mod 32), printed as ``XXXX-XXXX-XXXX-XXXX``. People may type it in lower case, with or without
dashes or spaces, in Persian digits, and with O for 0 or I/L for 1. Only the SHA-256 of the normalised code is
stored: a copy of the database reveals no unredeemed code.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select

from crmcore.api import Conflict, ValidationError, to_ascii_digits

from . import proof
from .models import LotteryCampaign, LotteryCard, LotteryCardBatch

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
RANDOM_SYMBOLS = 15
MAX_BATCH = 200_000


def check_symbol(body: str) -> str:
    """Luhn mod 32 over ``body``: catches every single-symbol typo and most swaps of neighbours."""
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * _VALUE[ch]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def new_code() -> str:
    bits = (
        int.from_bytes(secrets.token_bytes(10), "big") >> 5
    )  # 80 random bits, 75 kept: 15 symbols of 5
    body = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(RANDOM_SYMBOLS))
    return body + check_symbol(body)


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_code(raw: str) -> str:
    """The canonical 16 symbols of a typed code; a clear error for a malformed one or a typo."""
    text = to_ascii_digits(str(raw or "")).upper()
    for ch in " -_\u200c\u200f\u200e\t":
        text = text.replace(ch, "")
    text = text.translate(_CONFUSABLE)
    bad = sorted({ch for ch in text if ch not in _VALUE})
    if bad:
        raise ValidationError(
            f"card code {raw!r} has characters that are not in card codes: {' '.join(bad)}",
            field="code",
        )
    if len(text) != RANDOM_SYMBOLS + 1:
        raise ValidationError(
            f"card code {raw!r} has {len(text)} symbols; a card code has {RANDOM_SYMBOLS + 1} "
            "(XXXX-XXXX-XXXX-XXXX)",
            field="code",
        )
    if check_symbol(text[:-1]) != text[-1]:
        raise ValidationError(
            f"card code {raw!r} is mistyped (its check symbol does not match); "
            "please read it again from the card",
            field="code",
        )
    return text


def code_hash(code: str) -> str:
    return proof.sha256_hex(code.encode("ascii"))


def generate_batch(
    uow, campaign: LotteryCampaign, count: int, *, weight: int = 1, label: str | None = None
) -> tuple[LotteryCardBatch, list[str]]:
    """Create ``count`` new cards; returns the batch and the codes (shown this once, never stored)."""
    if campaign.status != "open":
        raise Conflict(
            f"campaign {campaign.name!r} is {campaign.status}: no new cards", field="campaign"
        )
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        raise ValidationError(f"a batch has 1 to {MAX_BATCH:,} cards, not {count!r}", field="count")
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
        raise ValidationError(f"a card gives 1 or more entries, not {weight!r}", field="weight")
    codes: set[str] = set()
    while len(codes) < count:  # 75 random bits: a repeat is astronomically rare, but never allowed
        codes.add(new_code())
    ordered = sorted(codes)
    now = uow.now()
    batch = LotteryCardBatch(
        campaign_id=campaign.id,
        label=(label or "").strip() or None,
        count=count,
        weight=weight,
        created_at=now,
        created_by=uow.actor,
    )
    uow.session.add(batch)
    uow.session.flush()
    from sqlalchemy import insert

    rows = [
        {
            "batch_id": batch.id,
            "campaign_id": campaign.id,
            "code_sha256": code_hash(c),
            "hint": c[-4:],
        }
        for c in ordered
    ]
    for start in range(0, len(rows), 5000):
        uow.session.execute(insert(LotteryCard), rows[start : start + 5000])
    uow.audit(
        "generate_cards",
        "lottery_campaign",
        campaign.id,
        {"batch": batch.id, "count": count, "weight": weight},
    )
    return batch, [display(c) for c in ordered]


def find_card(uow, campaign: LotteryCampaign, raw_code: str) -> LotteryCard:
    """The card of a typed code, locked; refuses unknown codes, other campaigns' cards and used cards."""
    code = normalize_code(raw_code)
    card = uow.session.scalar(
        select(LotteryCard).where(LotteryCard.code_sha256 == code_hash(code)).with_for_update()
    )
    if card is None:
        raise ValidationError(
            f"card code {display(code)} is not a valid lottery card", field="code"
        )
    if card.campaign_id != campaign.id:
        other = uow.session.get(LotteryCampaign, card.campaign_id)
        raise ValidationError(
            f"card code {display(code)} belongs to campaign {other.name!r}, not {campaign.name!r}",
            field="code",
        )
    if card.redeemed_at is not None:
        from crmcore.api import format_datetime

        raise Conflict(
            f"card code …{card.hint} was already redeemed on "
            f"{format_datetime(card.redeemed_at, uow.app.calendar, tz=uow.app.timezone)}"
            f" (customer {card.customer_id})",
            field="code",
        )
    return card


def batches(uow, campaign: LotteryCampaign) -> list[dict[str, Any]]:
    redeemed = dict(
        uow.session.execute(
            select(LotteryCard.batch_id, func.count(LotteryCard.id))
            .where(LotteryCard.campaign_id == campaign.id, LotteryCard.redeemed_at.is_not(None))
            .group_by(LotteryCard.batch_id)
        ).all()
    )
    rows = uow.session.scalars(
        select(LotteryCardBatch)
        .where(LotteryCardBatch.campaign_id == campaign.id)
        .order_by(LotteryCardBatch.id)
    )
    return [
        {
            "batch": b.id,
            "label": b.label,
            "cards": b.count,
            "weight": b.weight,
            "redeemed": int(redeemed.get(b.id, 0)),
            "created_at": b.created_at.isoformat(),
            "created_by": b.created_by,
        }
        for b in rows
    ]
