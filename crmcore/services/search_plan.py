"""What a `customers find` query asks for, and how matches are scored — shared by the SQLAlchemy search
(:mod:`crmcore.services.search`) and the CLI's start-up-fast path (:mod:`crmcore.services.quickfind`).
No database code here."""
from __future__ import annotations

import re

import attrs

from ..domain.phones import looks_like_phone, parse_phone
from ..domain.text import compact, normalize, to_ascii_digits, tokens
from ..errors import ValidationError

TOP = "\U0010ffff"  # upper bound of a prefix range: token >= w AND token < w + TOP
CANDIDATES = 2000
COUNT_CAP = 50_000  # a query word's name tokens are counted up to this many (see word_order)

SCORE_EXACT_CONTACT = 100  # phone, email or external id
SCORE_EMAIL_PREFIX = 75
SCORE_PHONE_SUFFIX = 65
SCORE_NAME_EXACT = 90
SCORE_NAME_PREFIX = 80
SCORE_NAME_WORDS = 70
SCORE_NAME_WORD_PREFIXES = 60


@attrs.frozen
class SearchPlan:
    text: str
    email: str | None
    phone_e164: str | None
    phone_digits: str | None
    words: tuple[str, ...]
    key: str
    joined: str | None


def plan(query: str) -> SearchPlan:
    q = (query or "").strip()
    email = q.lower() if "@" in q else None
    e164 = digits = None
    if looks_like_phone(q):
        try:
            e164 = parse_phone(q).e164
        except ValidationError:
            e164 = None
        d = re.sub(r"\D", "", to_ascii_digits(q)).lstrip("0")
        digits = d if len(d) >= 4 else None
    words = tuple(tokens(q))
    return SearchPlan(text=q, email=email, phone_e164=e164, phone_digits=digits, words=words, key=normalize(q),
                      joined=compact(q) if len(words) > 1 else None)


def word_order(words: list[str], counts: dict[str, int]) -> list[str]:
    """The query's words, the one to scan the name tokens by first: the word with the fewest tokens starting
    with it (``counts``, each counted up to ``COUNT_CAP``; ties: the longer word). The others are checked per
    candidate through the ``(customer_id, token)`` key. A candidate is a customer with, for every word, a name
    token starting with it — found in token order (whole words first) and capped at ``CANDIDATES``, so common
    words cost a bounded scan of the rarest word's tokens instead of grouping every match of every word."""
    return sorted(words, key=lambda w: (counts.get(w, 0), -len(w)))


def score_name(p: SearchPlan, search_key: str) -> int:
    if search_key == p.key:
        return SCORE_NAME_EXACT
    if search_key.startswith(p.key) or search_key.replace(" ", "").startswith(compact(p.text)):
        return SCORE_NAME_PREFIX
    if set(p.words) <= set(search_key.split(" ")):
        return SCORE_NAME_WORDS
    return SCORE_NAME_WORD_PREFIXES


class Scores(dict):
    """customer id → (score, how matched); keeps the best score per customer."""

    def add(self, ids, score: int, how: str) -> None:
        for cid in ids:
            if cid not in self or self[cid][0] < score:
                self[cid] = (score, how)

    def order(self, rows):
        """Sort rows (objects or dicts with id and name) best first: score, shorter name, id."""
        def key(row):
            cid = row["id"] if isinstance(row, dict) else row.id
            name = row["name"] if isinstance(row, dict) else row.display_name
            return (-self[cid][0], len(name), cid)
        return sorted(rows, key=key)
