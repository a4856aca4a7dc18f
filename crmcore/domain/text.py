"""Persian-aware text normalisation for search and dedup keys.

The original text is always kept for display; these keys are only compared. They fold the variants that
Persian keyboards and Arabic-script sources mix freely: Arabic yeh/kaf, heh with yeh/teh marbuta, alef
variants, Persian and Arabic-Indic digits, ZWNJ and other invisible joiners, tatweel, diacritics, and case.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})

_LETTERS = {
    "ي": "ی", "ى": "ی", "ئ": "ی",
    "ك": "ک",
    "ۀ": "ه", "ة": "ه", "ہ": "ه", "ە": "ه",
    "أ": "ا", "إ": "ا", "ٱ": "ا", "آ": "ا",
    "ؤ": "و",
    "ـ": "",  # tatweel
}
_TABLE = dict(_DIGITS)
_TABLE.update({ord(k): v for k, v in _LETTERS.items()})
# invisible joiners become word separators: "علی‌رضا" and "علی رضا" give the same tokens
for _cp in (0x200C, 0x200D, 0x200E, 0x200F, 0x00AD, 0xFEFF, 0x2066, 0x2067, 0x2068, 0x2069):
    _TABLE[_cp] = " "

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_PUNCT = re.compile(r"[^\w\s@.+-]", re.UNICODE)


def to_ascii_digits(text: str) -> str:
    """Replace Persian (۰-۹) and Arabic-Indic (٠-٩) digits with ASCII digits; nothing else changes."""
    return text.translate(_DIGITS)


def to_persian_digits(text: str) -> str:
    """Show ASCII digits as Persian digits (for Persian output)."""
    return text.translate({ord(str(i)): c for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})


def normalize(text: str | None) -> str:
    """Return the comparison form of ``text``: folded letters and digits, no diacritics, single spaces, lower case.

    >>> normalize("علي‌رضا  كريمي") == normalize("علی رضا کریمی")
    True
    """
    if not text:
        return ""
    return _normalized(text)


@lru_cache(maxsize=65_536)  # names, cities and tags repeat: an import normalises the same text many times
def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_TABLE)
    # drop combining marks (Arabic harakat, Latin accents)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)
    text = text.casefold()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def tokens(text: str | None) -> list[str]:
    """Words of the normalised text, in order."""
    n = normalize(text)
    return n.split(" ") if n else []


def search_tokens(text: str | None) -> frozenset[str]:
    """Index tokens for a name: each word, each pair of adjacent words joined, and the whole name joined.

    Joining lets "علیرضا" find "علی رضا" and the reverse. Tokens are cut to 300 characters (the index
    column's width).
    """
    return _search_tokens(normalize(text))


@lru_cache(maxsize=65_536)  # names repeat across a customer list: an import indexes the same names many times
def _search_tokens(normalized: str) -> frozenset[str]:
    words = normalized.split(" ") if normalized else []
    out = set(words)
    for a, b in zip(words, words[1:]):
        out.add(a + b)
    if len(words) > 2:
        out.add("".join(words))
    return frozenset(t[:300] for t in out if t)


def compact(text: str | None) -> str:
    """The normalised text without any spaces: the dedup key of a name."""
    return normalize(text).replace(" ", "")
