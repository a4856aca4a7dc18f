"""Referral codes: eight characters a person can read aloud and type on a phone ("K7MX-4QPA").

A code is the customer's id under a keyed permutation (a four-round Feistel network over 32 bits, key kept
in the settings table), written in an alphabet without the look-alikes 0/O and 1/I/L, plus a check
character. So every customer has a code without a table or a write, codes do not reveal how many
customers a business has, and a mistyped character is caught instead of pointing at someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import String, column, insert, select, table
from sqlalchemy.exc import IntegrityError

from crmcore.api import JSONType, ValidationError, get_setting, set_setting, to_ascii_digits

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters: no 0, 1, I, L, O
BODY = 7  # 31**7 > 2**32
MASK = 0xFFFF
KEY_SETTING = ("referrals", "code_key")


def _round(key: bytes, i: int, half: int) -> int:
    digest = hmac.new(key, bytes((i,)) + half.to_bytes(2, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[:2], "big")


def _permute(key: bytes, value: int, *, inverse: bool = False) -> int:
    left, right = value >> 16, value & MASK
    rounds = range(3, -1, -1) if inverse else range(4)
    for i in rounds:
        if inverse:
            left, right = right ^ _round(key, i, left), left
        else:
            left, right = right, left ^ _round(key, i, right)
    return (left << 16) | right


def _check(body: str) -> str:
    total = sum((i + 1) * ALPHABET.index(ch) for i, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def encode(key: bytes, customer_id: int) -> str:
    if not 0 < customer_id < 2**32:
        raise ValueError("customer ids of referral codes are 32-bit")
    value, chars = _permute(key, customer_id), []
    for _ in range(BODY):
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    body = "".join(reversed(chars))
    return f"{body[:4]}-{body[4:]}{_check(body)}"


def normalise(text: str) -> str:
    """The code as typed (Persian digits, lower case, spaces or dashes) in its canonical characters."""
    return "".join(ch for ch in to_ascii_digits(str(text)).upper() if ch.isalnum())


def decode(key: bytes, text: str) -> int:
    """The customer id behind a code; :class:`ValidationError` for anything that is not a code."""
    raw = normalise(text)
    if len(raw) != BODY + 1 or any(ch not in ALPHABET for ch in raw):
        raise ValidationError(
            f"{text!r} is not a referral code (8 letters and digits, e.g. K7MX-4QPA)", field="code"
        )
    body, check = raw[:BODY], raw[BODY]
    if _check(body) != check:
        raise ValidationError(
            f"referral code {text!r} is mistyped (its check character does not match)", field="code"
        )
    value = 0
    for ch in body:
        value = value * len(ALPHABET) + ALPHABET.index(ch)
    if value >= 2**32:
        raise ValidationError(f"unknown referral code {text!r}", field="code")
    return _permute(key, value, inverse=True)


def code_key(uow) -> bytes:
    """This database's code key, made on first use (not by the migration: a database loaded with
    ``crm import all`` keeps the key its codes were made with), in a short transaction of its own
    and read back, so that read-only units can show codes and two processes agree (a writing unit
    on SQLite, which holds the database's write lock, writes it in its own transaction)."""
    cached = uow.cache.get("referrals.code_key")
    if cached is not None:
        return cached
    stored = get_setting(uow, *KEY_SETTING)
    if stored is None and not uow.readonly and uow.app.engine.dialect.name == "sqlite":
        # this unit holds SQLite's write lock (another connection would wait for it): write here
        stored = secrets.token_hex(16)
        set_setting(uow, *KEY_SETTING, stored)
    elif stored is None:  # a transaction of its own: read-only units too, and racing units agree
        stored = _make_key(uow.app.engine)
    uow.cache["referrals.code_key"] = key = bytes.fromhex(stored)
    return key


_SETTINGS = table(
    "crm_settings", column("namespace", String), column("key", String), column("value", JSONType)
)


def _make_key(engine) -> str:
    namespace, name = KEY_SETTING
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(_SETTINGS).values(namespace=namespace, key=name, value=secrets.token_hex(16))
            )
    except IntegrityError:  # another process made it first: use theirs
        pass
    with engine.connect() as conn:
        return conn.scalar(
            select(_SETTINGS.c.value).where(
                _SETTINGS.c.namespace == namespace, _SETTINGS.c.key == name
            )
        )
